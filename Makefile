# Palisade: two commands for people (`make run`, `make test`), one for numbers (`make bench`;
# `make bench BENCH=api`, `BENCH=firewall` or `BENCH=proxy` runs one of the three benchmark scripts).
# Each installs the Debian packages it needs when they are missing (as root; apt-get update first).

SWIFT_BIN ?= /opt/swift/usr/bin
export PATH := $(SWIFT_BIN):$(PATH)

# Packages each target needs. The Swift toolchain itself is expected at $(SWIFT_BIN).
# libnftables-dev and pkg-config build the nftables backend; libhyperscan-dev builds (and the
# daemon links) the L7 proxy's matcher; nftables and iproute2 are the kernel tools the tests
# use inside the network namespaces they create.
RUN_PACKAGES   := ca-certificates libcurl4 pkg-config libnftables-dev libhyperscan-dev nftables
TEST_PACKAGES  := $(RUN_PACKAGES) curl iproute2 python3
# The firewall benchmarks also need iperf3, jq and iproute2 (namespaces, veth pairs); the proxy
# benchmarks haproxy (the reference) and python3 (their clients and servers).
BENCH_PACKAGES := $(RUN_PACKAGES) wrk nginx-light curl iperf3 jq iproute2 haproxy python3

ARGS ?=
# Which benchmarks `make bench` runs: all, api, firewall or proxy (also from the environment).
BENCH ?= all

.PHONY: run test bench build build-release deps-run deps-test deps-bench clean

run: deps-run build-release
	./.build/release/palisade serve $(ARGS)

# One test at a time (about 3 minutes): the tests start hundreds of daemons, servers and clients
# with Foundation's Process, and on Linux libdispatch has crashed the test process
# (_dispatch_event_loop_drain) when many were spawned and reaped at once.
test: deps-test
	swift build --build-tests
	PALISADE_BINARY="$$(swift build --show-bin-path)/palisade" swift test --skip-build --no-parallel

bench: deps-bench build-release
	@case "$(BENCH)" in all|api|firewall|proxy) ;; *) echo "BENCH must be all, api, firewall or proxy (got '$(BENCH)')" >&2; exit 2 ;; esac
	@if [ "$(BENCH)" = all ] || [ "$(BENCH)" = api ]; then ./Benchmarks/api-bench.sh; fi
	@if [ "$(BENCH)" = all ] || [ "$(BENCH)" = firewall ]; then ./Benchmarks/firewall-bench.sh; fi
	@if [ "$(BENCH)" = all ] || [ "$(BENCH)" = proxy ]; then ./Benchmarks/proxy-bench.sh; fi

build:
	swift build

build-release:
	swift build -c release

deps-run:
	@./scripts/ensure-packages $(RUN_PACKAGES)

deps-test:
	@./scripts/ensure-packages $(TEST_PACKAGES)

deps-bench:
	@./scripts/ensure-packages $(BENCH_PACKAGES)

clean:
	rm -rf .build
