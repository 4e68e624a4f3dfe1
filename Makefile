# Engram - one plain Makefile.
#   make            build bin/engram (in parallel: -j from nproc unless -j is given)
#   make run        install the missing Debian packages it needs, build, serve on
#                   127.0.0.1:8100 (SQLite)
#   make test       build and run every test (unit, store, API; SQLite and PostgreSQL)
#   make SAN=1 …    the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make install    binary, man page and systemd unit under $(DESTDIR)$(PREFIX)
#   make fuzz       build the libFuzzer targets (clang) and run each for FUZZ_SECONDS (60)
#   make crash      kill -9 under concurrent ingest, longer than the run in make test
#   make coverage   line coverage of src/ over the whole test suite (gcovr)
#   make clean

# Parallel by default. A -j on the command line wins (GNU make 4.3 lets it override this;
# 4.4 shows it here already). Goals next to clean run one at a time.
ifeq ($(filter -j%,$(MAKEFLAGS))$(filter clean,$(MAKECMDGOALS)),)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

CC       ?= cc
PKGS     := libmicrohttpd sqlite3 libpq libcrypto libpcre2-8 libcurl
MODE     := $(if $(FUZZ),fuzz,$(if $(COVERAGE),coverage,$(if $(SAN),san,release)))
OUT      := build/$(MODE)

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wstrict-prototypes -Wvla \
               -Wwrite-strings -Wformat-security -Wpointer-arith -fno-common -g -Isrc \
               -MMD -MP -include src/util/banned.h
ifneq ($(FUZZ),)
  # make fuzz: everything built by clang with libFuzzer's coverage hooks and both sanitizers.
  CC := clang
  OPT := -O1 -fno-omit-frame-pointer
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
else ifneq ($(COVERAGE),)
  OPT := -O0
  SANFLAGS := --coverage -fprofile-update=atomic
else ifeq ($(SAN),)
  OPT := -O2
  SANFLAGS :=
else
  OPT := -O1 -fno-omit-frame-pointer
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  += $(CFLAGS_BASE) $(OPT) $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS += $(SANFLAGS)
# libunistring (Unicode lower-casing, character classes) ships no pkg-config file.
LDLIBS  += $(PKG_LIBS) -lunistring -lpthread -lm

SRC      := $(sort $(wildcard src/util/*.c src/store/*.c src/store/sqlite/*.c src/store/postgres/*.c src/service/*.c src/api/*.c src/http/*.c \
                                src/cli/*.c))
LIB_OBJ  := $(SRC:%.c=$(OUT)/%.o)
MAIN_OBJ := $(OUT)/src/main.o
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)

.PHONY: all deps deps-build deps-test run test unit-tests fuzz-replay clean bench format install \
        fuzz crash coverage screenshots
all: bin/engram

# What building and running need (make run), and what the tests add (make test, make bench).
deps-build:
	@scripts/deps.sh build
deps deps-test:
	@scripts/deps.sh test

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/libengram.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(OUT)/engram: $(MAIN_OBJ) $(OUT)/libengram.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bin/engram is the binary of the last mode built.
bin/engram: $(OUT)/engram
	@mkdir -p bin
	@cmp -s $< $@ || cp $< $@

.PHONY: bin/engram

$(OUT)/tests/%: tests/unit/%.c $(OUT)/libengram.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(OUT)/libengram.a $(LDFLAGS) $(LDLIBS) -lcmocka

unit-tests: $(UNIT_BIN)

run: deps-build
	@$(MAKE) --no-print-directory bin/engram
	bin/engram serve

test: deps-test
	@$(MAKE) --no-print-directory bin/engram unit-tests fuzz-replay
	@ENGRAM_BUILD=$(OUT) scripts/run-tests.sh

bench: deps-test
	@$(MAKE) --no-print-directory bin/engram
	@scripts/bench.sh

clean:
	rm -rf build bin

# --- install (Debian conventions): the binary, engram(1) gzip'd, the systemd unit, and an
# example of the unit's settings file. PREFIX=/usr for a package; DESTDIR for staging.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR  ?= $(PREFIX)/share/doc/engram

install: bin/engram
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 bin/engram $(DESTDIR)$(BINDIR)/engram
	gzip -9n < docs/engram.1 > $(DESTDIR)$(MANDIR)/man1/engram.1.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/engram.1.gz
	sed 's|@BINDIR@|$(BINDIR)|g' dist/engram.service > $(DESTDIR)$(UNITDIR)/engram.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/engram.service
	install -m 0644 dist/engram.default $(DESTDIR)$(DOCDIR)/engram.default

# Lay out the C sources as .clang-format says (C-STYLE.md §12).
FORMAT_SRC = $(wildcard src/*.c src/*/*.[ch] src/*/*/*.[ch] tests/unit/*.[ch] bench/*.c fuzz/*.[ch])
format:
	clang-format -i $(FORMAT_SRC)

# --- tokenizer data -------------------------------------------------------------------------
# The cl100k_base rank table (spec/behavior.md §10.1) comes from the npm package js-tiktoken,
# is converted by scripts/fetch-tokenizer.sh (run once; build/ is not committed) and embedded
# into libengram with the assembler's .incbin, so bin/engram reads no data file at run time.
TOKENS_RANKS    := build/tokenizer/cl100k_base.ranks
TOKENS_DATA_OBJ := $(OUT)/src/service/tokens_data.o

$(TOKENS_RANKS):
	@scripts/fetch-tokenizer.sh $@

$(TOKENS_DATA_OBJ): src/service/tokens_data.S $(TOKENS_RANKS)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) -DTOKENS_RANKS_PATH='"$(TOKENS_RANKS)"' -c $< -o $@

$(OUT)/libengram.a: $(TOKENS_DATA_OBJ)
# --- end of tokenizer data ------------------------------------------------------------------

# --- docs page data ---------------------------------------------------------------------------
# GET /docs is Swagger UI: its browser files come from the npm package swagger-ui-dist, fetched
# once into build/docs-ui by scripts/fetch-docs-ui.sh (build/ is not committed), and are
# embedded with our page and start-up script (src/api/docs/) by src/api/docs_data.S.
DOCS_UI_DIR      := build/docs-ui
DOCS_UI_STAMP    := $(DOCS_UI_DIR)/fetched
DOCS_DATA_OBJ    := $(OUT)/src/api/docs_data.o

$(DOCS_UI_STAMP):
	@scripts/fetch-docs-ui.sh $(DOCS_UI_DIR)

$(DOCS_DATA_OBJ): src/api/docs_data.S src/util/embed.inc $(DOCS_UI_STAMP) $(wildcard src/api/docs/*)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) -Wa,-I,src/api/docs -Wa,-I,$(DOCS_UI_DIR) -Wa,-I,src/util -c $< -o $@

$(OUT)/libengram.a: $(DOCS_DATA_OBJ)
# --- end of docs page data --------------------------------------------------------------------

# --- admin web UI (issue 20) ------------------------------------------------------------------
# GET /ui/ is our own page (ui/): scripts/build-ui.sh installs its npm packages (esbuild, preact,
# htm, uplot; ui/package-lock.json) and bundles it into build/ui, which src/api/ui_data.S embeds.
UI_DIR      := build/ui
UI_STAMP    := $(UI_DIR)/app.js
UI_DATA_OBJ := $(OUT)/src/api/ui_data.o

$(UI_STAMP): scripts/build-ui.sh ui/package-lock.json ui/index.html $(wildcard ui/src/*.js ui/src/*.css ui/src/pages/*.js)
	@scripts/build-ui.sh $(UI_DIR)

$(UI_DATA_OBJ): src/api/ui_data.S src/util/embed.inc $(UI_STAMP)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) -Wa,-I,$(UI_DIR) -Wa,-I,src/util -c $< -o $@

$(OUT)/libengram.a: $(UI_DATA_OBJ)
# --- end of admin web UI ----------------------------------------------------------------------

# --- starter packs (spec/api.md §7.7) -------------------------------------------------------
# The packs GET /admin/memory/starter-packs lists: Engram's own docs (README.md, docs/*.md)
# turned into a support_docs pack, and the demo personas of packs/, bundled into one file by
# scripts/packs-bundle.py and embedded by src/service/packs_data.S.
PACKS_BUNDLE   := $(OUT)/packs/bundle.jsonl
PACKS_DATA_OBJ := $(OUT)/src/service/packs_data.o

$(PACKS_BUNDLE): scripts/packs-bundle.py README.md $(wildcard docs/*.md) \
                 $(wildcard packs/*/*) src/util/version.h
	@mkdir -p $(dir $@)
	@echo "  PACKS   $@"
	@python3 scripts/packs-bundle.py $@ .

$(PACKS_DATA_OBJ): src/service/packs_data.S $(PACKS_BUNDLE)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) -DPACKS_BUNDLE_PATH='"$(PACKS_BUNDLE)"' -c $< -o $@

$(OUT)/libengram.a: $(PACKS_DATA_OBJ)
# --- end of starter packs -------------------------------------------------------------------

# --- bench (issue 7): load generator and storage floor, built by scripts/bench.sh -----------
BENCH_BIN := $(OUT)/bench/loadgen $(OUT)/bench/store_floor

$(OUT)/bench/loadgen: bench/loadgen.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpthread

$(OUT)/bench/store_floor: bench/store_floor.c $(OUT)/libengram.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -o $@ $< $(OUT)/libengram.a $(LDFLAGS) $(LDLIBS)

.PHONY: bench-tools
bench-tools: $(BENCH_BIN)
# --- end of bench ---------------------------------------------------------------------------

# --- reliability (docs/RELIABILITY.md): fuzzing, crash tests, coverage -----------------------
# Each fuzz/fuzz_<t>.c is one target. In FUZZ=1 mode (clang) it is linked with libFuzzer; in
# every other mode with fuzz/replay.c, a main() that runs each file of fuzz/corpus/<t> and
# fuzz/findings/<t> once (make test does that, so it needs no clang).
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(OUT)/fuzz/%)
FUZZ_SECONDS ?= 60

ifneq ($(FUZZ),)
$(OUT)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h) $(OUT)/libengram.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -Ifuzz -o $@ $< $(OUT)/libengram.a \
	    -fsanitize=fuzzer,address,undefined $(LDLIBS)
else
$(OUT)/fuzz/%: fuzz/%.c fuzz/replay.c $(wildcard fuzz/*.h) $(OUT)/libengram.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -Ifuzz -o $@ $< fuzz/replay.c $(OUT)/libengram.a $(LDFLAGS) $(LDLIBS)
endif

fuzz-replay: $(FUZZ_BIN)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="json ts"]: clang + libFuzzer, every target.
fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-replay
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

# make crash [CRASH_ROUNDS=…]: kill -9 under concurrent ingest, on SQLite and PostgreSQL.
crash: deps
	@$(MAKE) --no-print-directory bin/engram
	@scripts/crash.sh

# make screenshots: the admin web UI's main pages as PNGs in docs/img/ (shown in the README).
screenshots: deps
	@$(MAKE) --no-print-directory bin/engram
	@scripts/ui-screenshots.py docs/img

# make coverage: build with --coverage, run the whole suite, summarise src/ with gcovr.
coverage:
	@scripts/deps.sh coverage
	@scripts/coverage.sh
# --- end of reliability ---------------------------------------------------------------------

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d)
