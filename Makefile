# egressaudit - one non-recursive Makefile.
# make            build build/egressaudit
# make check      install what is missing, build, run every test (gcc, clang,
#                 ASan+UBSan, integration, fuzz smoke)
# make demo       read the bundled demo capture and print its sessions
# make fuzz       run each libFuzzer target for FUZZ_SECONDS
# V=1 shows the commands.

CC       ?= gcc
PKGS     := libpcap libuv libcares sqlite3 libpsl libsystemd zlib jansson libcrypto libssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libspf2 and libopendmarc (Debian's -dev packages) ship no pkg-config
# file: their libraries are linked by name.
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lspf2 -lopendmarc
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
            -Wno-format-nonliteral
HARDEN   := -fstack-protector-strong -fstack-clash-protection -fcf-protection \
            -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(HARDEN) $(CPPFLAGS) $(CFLAGS) -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS  ?=
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now $(LDFLAGS)

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := common/util.c common/safefile.c common/session.c common/netset.c common/dns.c \
            common/strmap.c common/conf.c common/http.c common/prom.c \
            capture/decode.c capture/smtp.c capture/flow.c capture/pcapng_if.c \
            capture/capture.c \
            store/schema.c store/store.c store/ingest.c store/dns.c store/analysis.c \
            store/report.c store/retention.c store/deliveries.c store/fold.c \
            analyzer/resolver.c analyzer/rules.c analyzer/rules_cross.c analyzer/twins.c \
            analyzer/facts.c analyzer/idents.c analyzer/analyzer.c analyzer/checklist.c analyzer/spf.c analyzer/mailauth.c \
            logs/maillog.c logs/tail.c logs/jsonl.c
CLI_SRC  := cli/main.c cli/opts.c cli/render.c cli/read.c cli/sessions.c cli/analyze.c cli/report.c \
            cli/history.c cli/watch.c cli/metrics.c cli/maillog.c cli/report_html.c \
            cli/events.c cli/import.c cli/lines.c cli/preflight.c cli/probe.c
TESTS    := test_util test_netset test_decode test_smtp test_flow test_store test_rules test_resolver test_maillog test_tail test_jsonl
FUZZERS  := fuzz_decode fuzz_smtp fuzz_flow fuzz_pcapng fuzz_dns fuzz_capture fuzz_rules fuzz_conf fuzz_http fuzz_list fuzz_maillog fuzz_tail fuzz_jsonl fuzz_spf fuzz_mailauth

B        := build
OBJ      := $(B)/obj
AOBJ     := $(B)/asan

LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(OBJ)/%.o)
ALIB_OBJ := $(LIB_SRC:%.c=$(AOBJ)/%.o)
ACLI_OBJ := $(CLI_SRC:%.c=$(AOBJ)/%.o)

.PHONY: all check unit unit-asan integration dns-check html-check tsan-check memcheck live-check deb-check e2e fleet-check man-check rules-check units-check check-clang check-deps lint \
        fuzz fuzz-smoke demo deps clean install asan bench

all: $(B)/egressaudit

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(AOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-SAN  $<")
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

$(B)/libea.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/libea-asan.a: $(ALIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/egressaudit: $(CLI_OBJ) $(B)/libea.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libea.a $(PKG_LIBS)

$(B)/egressaudit-asan: $(ACLI_OBJ) $(B)/libea-asan.a
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $(SAN_FLAGS) -o $@ $(ACLI_OBJ) $(B)/libea-asan.a $(PKG_LIBS)

asan: $(B)/egressaudit-asan

# ThreadSanitizer (clang): the analysis reads on libuv's thread pool while
# the loop captures, resolves and can cancel them.
$(B)/egressaudit-tsan: $(LIB_SRC) $(CLI_SRC) $(wildcard */*.h)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD-TSAN $@")
	$(Q)clang -std=c11 $(WARN) -g -O1 -fsanitize=thread -I. $(PKG_CFLAGS) \
	  -o $@ $(LIB_SRC) $(CLI_SRC) $(PKG_LIBS)

tsan-check: $(B)/egressaudit-tsan
	$(Q)EA_BIN=$(B)/egressaudit-tsan tests/runtime.sh tsan

# valgrind memcheck: sees what libuv, c-ares, SQLite and libpcap (not built
# with ASan) do with our memory.
memcheck: $(B)/egressaudit
	$(Q)EA_BIN=$(B)/egressaudit tests/runtime.sh memcheck

# Unit tests: one cmocka program per module.
$(B)/tests/%: $(OBJ)/tests/%.o $(B)/libea.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(B)/libea.a $(PKG_LIBS) $(CMOCKA_LIBS)

$(B)/tests-asan/%: $(AOBJ)/tests/%.o $(B)/libea-asan.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) $(SAN_FLAGS) -o $@ $< $(B)/libea-asan.a $(PKG_LIBS) $(CMOCKA_LIBS)

unit: $(TESTS:%=$(B)/tests/%)
	@for t in $^; do echo "== $$t"; ./$$t || exit 1; done

unit-asan: $(TESTS:%=$(B)/tests-asan/%)
	@for t in $^; do echo "== $$t (ASan+UBSan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$$t || exit 1; done

integration: $(B)/egressaudit-asan
	$(Q)EA_BIN=$(B)/egressaudit-asan tests/integration.sh

# watch on a veth pair in a network namespace of its own (root only).
live-check: $(B)/egressaudit-asan $(B)/egressaudit
	$(Q)EA_BIN=$(B)/egressaudit-asan tests/live/run.sh

# End to end: sender, NAT gateway and mx namespaces, real Postfix and Exim,
# NSD, swaks; watch in the sender and on both gateway interfaces (root;
# scripts/deps.sh installs postfix, swaks, nftables... and downloads Exim).
e2e: $(B)/egressaudit-asan
	$(Q)EA_BIN=$(B)/egressaudit-asan tests/e2e/run.sh

# A fleet: three hosts' watches, rsyslog forwarding their events to a
# central rsyslog, the central watch --jsonl and report (root only).
fleet-check: $(B)/egressaudit-asan
	$(Q)EA_BIN=$(B)/egressaudit-asan tests/fleet/run.sh

# The Debian package: build, lintian, hardening, install, remove (root only).
deb-check:
	$(Q)tests/deb/run.sh

# Resolver, rules and commands against a real NSD on a loopback port.
dns-check: $(B)/egressaudit-asan
	$(Q)EA_BIN=$(B)/egressaudit-asan tests/dns/run.sh

# report --format html in headless Chromium: DOM, network log, screenshot.
html-check: $(B)/egressaudit-asan
	$(Q)EA_BIN=$(B)/egressaudit-asan tests/html/run.sh

# Fuzzing (clang's libFuzzer).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -g -O1 -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(PKG_LIBS)

fuzz: $(FUZZERS:%=$(B)/fuzz/%)
	@for f in $(FUZZERS); do mkdir -p $(B)/corpus/$$f; \
	  echo "== $$f for $(FUZZ_SECONDS)s"; \
	  $(B)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=$(B)/ $(B)/corpus/$$f tests/fuzz/corpus/$$f || exit 1; done

# In make check: replay the committed corpus and regressions, then a short run.
fuzz-smoke: $(FUZZERS:%=$(B)/fuzz/%)
	@for f in $(FUZZERS); do mkdir -p $(B)/corpus/$$f; \
	  echo "== $$f: corpus replay + 10s"; \
	  $(B)/fuzz/$$f -runs=0 tests/fuzz/corpus/$$f 2>&1 | tail -1 || exit 1; \
	  $(B)/fuzz/$$f -max_total_time=10 -max_len=4096 -artifact_prefix=$(B)/ \
	    $(B)/corpus/$$f tests/fuzz/corpus/$$f 2>&1 | tail -1 || exit 1; done

# The whole tree must also build warning-free with clang.
check-clang:
	$(Q)$(MAKE) --no-print-directory CC=clang B=$(B)/clang $(B)/clang/egressaudit \
	  $(TESTS:%=$(B)/clang/tests/%)

# Only capture/ includes pcap.h, only the resolver ares.h, only store/ sqlite3.h.
# DESIGN.md's dependency rule: cli may use everything; capture, store and
# analyzer never include each other except analyzer -> store; common
# includes none of them; pcap.h only in capture/, ares.h only in the
# resolver, sqlite3.h only in store/, uv.h only where the loop lives (the
# resolver, the analysis run, watch), sd-daemon only in watch; store_int.h
# (the connection and its helpers) only inside store/.
check-deps:
	$(Q)src() { git ls-files "$$@" | grep -v '^tests/'; }; \
	only() { pat=$$1; shift; for f in $$(src '*.c' '*.h'); do \
	  grep -q "#include $$pat" $$f || continue; ok=0; \
	  for a in "$$@"; do case $$f in $$a) ok=1;; esac; done; \
	  [ $$ok = 1 ] || echo "$$f:$$pat"; done; }; \
	bad="$$(only '<pcap' 'capture/*')"; \
	bad="$$bad $$(only '<ares' 'analyzer/resolver.c')"; \
	bad="$$bad $$(only '<sqlite3' 'store/*')"; \
	bad="$$bad $$(only '<uv.h>' 'analyzer/resolver.h' 'analyzer/analyzer.h' 'analyzer/analyzer.c' 'cli/probe.c' 'cli/watch.c' 'cli/metrics.h' 'cli/metrics.c')"; \
	bad="$$bad $$(only '<systemd/' 'cli/watch.c')"; \
	bad="$$bad $$(only '<spf2/' 'analyzer/spf.c')"; \
	bad="$$bad $$(only '<openssl/' 'analyzer/mailauth.c' 'cli/probe.c')"; \
	bad="$$bad $$(only '<opendmarc/' 'analyzer/mailauth.c')"; \
	bad="$$bad $$(only '"cli/' 'cli/*')"; \
	bad="$$bad $$(only '"capture/' 'capture/*' 'cli/*')"; \
	bad="$$bad $$(only '"store/' 'store/*' 'analyzer/*' 'cli/*')"; \
	bad="$$bad $$(only '"analyzer/' 'analyzer/*' 'cli/*')"; \
	bad="$$bad $$(only '"store/store_int.h' 'store/*')"; \
	bad="$$bad $$(only '"logs/' 'logs/*' 'cli/*')"; \
	if [ -n "$$(echo $$bad)" ]; then echo "check-deps: layering broken (file:include):"; for b in $$bad; do echo "  $$b"; done; exit 1; fi; \
	echo "check-deps: ok"

# The systemd units verify (with ExecStart pointed at the built binary);
# watch's unit waits for READY=1 (Type=notify).
# systemd's exposure score of each unit we ship may not rise above this.
UNIT_EXPOSURE_MAX := 2.0
units-check: $(B)/egressaudit
	$(Q)d=$$(mktemp -d); for u in packaging/*.service packaging/*.timer; do \
	  sed "s|/usr/bin/egressaudit|$(CURDIR)/$(B)/egressaudit|" $$u >$$d/$$(basename $$u); done; \
	out=$$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no $$d/*.service $$d/*.timer 2>&1 | \
	  grep -v "egressaudit.*not found\|User=.*egressaudit\|^$$"); rm -rf $$d; \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	grep -q '^Type=notify$$' packaging/egressaudit.service || { echo "units-check: egressaudit.service is not Type=notify"; exit 1; }; \
	for u in packaging/*.service; do \
	  score=$$(systemd-analyze security --offline=true $$u 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'); \
	  if [ -z "$$score" ] || ! awk -v s="$$score" 'BEGIN { exit !(s <= $(UNIT_EXPOSURE_MAX)) }'; then \
	    echo "units-check: $$u: exposure '$$score' (systemd-analyze security), more than $(UNIT_EXPOSURE_MAX)"; exit 1; fi; \
	  echo "units-check: $$(basename $$u) exposure $$score (at most $(UNIT_EXPOSURE_MAX))"; done; \
	echo "units-check: ok"

# The man page renders without a warning.
man-check:
	$(Q)out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l packaging/egressaudit.8 2>&1 >/dev/null); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "man-check: ok"

# The man page's CHECKS table lists exactly the rule ids the code emits.
rules-check:
	$(Q)python3 tests/rules_doc.py

# curl's banned functions.
lint:
	$(Q)if grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets|vsprintf)\s*\(' \
	    $$(git ls-files '*.c' '*.h'); then echo "lint: banned function"; exit 1; fi; \
	echo "lint: ok"

deps:
	$(Q)scripts/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory lint check-deps man-check rules-check units-check
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory unit-asan
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)$(MAKE) --no-print-directory dns-check
	$(Q)$(MAKE) --no-print-directory html-check
	$(Q)$(MAKE) --no-print-directory tsan-check
	$(Q)$(MAKE) --no-print-directory memcheck
	$(Q)$(MAKE) --no-print-directory live-check
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory fleet-check
	$(Q)$(MAKE) --no-print-directory deb-check
	$(Q)$(MAKE) --no-print-directory check-clang
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	@echo "make check: all passed"

DEMO_DB := $(B)/demo.db
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)EA_BIN=$(B)/egressaudit DEMO_DB=$(DEMO_DB) scripts/demo.sh

# Benchmarks against tcpdump and tshark (not a test; see bench/run.sh).
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)EA_BIN=$(B)/egressaudit QUICK=$(QUICK) FULL=$(FULL) bench/run.sh

PREFIX ?= /usr/local
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

# The Debian package, built out of tree from a copy of the committed source
# (the working tree stays clean); prints the path of the .deb.
deb:
	$(Q)rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	$(Q)git archive HEAD | tar -x -C $(B)/deb/src
	$(Q)cp -r packaging/debian $(B)/deb/src/debian
	$(Q)cd $(B)/deb/src && DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS)" \
	  dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	$(Q)rm -f $(B)/egressaudit_*.deb && cp $(B)/deb/egressaudit_*.deb $(B)/
	$(Q)ls $(B)/egressaudit_*.deb
install: all
	install -D -m 0755 $(B)/egressaudit $(DESTDIR)$(PREFIX)/bin/egressaudit
	install -D -m 0644 packaging/egressaudit.8 $(DESTDIR)$(PREFIX)/share/man/man8/egressaudit.8
	install -D -m 0644 packaging/egressaudit.service $(DESTDIR)$(UNITDIR)/egressaudit.service
	install -D -m 0644 packaging/egressaudit-report.service $(DESTDIR)$(UNITDIR)/egressaudit-report.service
	install -D -m 0644 packaging/egressaudit-report.timer $(DESTDIR)$(UNITDIR)/egressaudit-report.timer
	$(if $(SYSUSERSDIR),install -D -m 0644 packaging/egressaudit.sysusers $(DESTDIR)$(SYSUSERSDIR)/egressaudit.conf)
	install -D -m 0644 packaging/egressaudit.default $(DESTDIR)/etc/default/egressaudit
	install -D -m 0644 packaging/egressaudit.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/egressaudit

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
