# Tong: the two commands are `make demo` and `make test`.
GO          ?= go
BIN         ?= bin/tong
DATA        ?= ./tong-data
ADDR        ?= 127.0.0.1:8080
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHTIME   ?= 1s

.PHONY: all build demo test test-short lint vet fmt bench soak screenshots clean wallet-wasm wallet-app

all: build

# build embeds the wallet engine (wallet-wasm), so that tong serve's
# /wallet/ works.
build: wallet-wasm
	$(GO) build -trimpath -o $(BIN) ./cmd/tong

# demo builds tong and runs every service on embedded SQLite in $(DATA).
demo: build
	./$(BIN) serve --demo --data $(DATA) --addr $(ADDR)

vet:
	$(GO) vet ./...

# test runs every test, with the race detector. The browser tests need
# Chromium (Debian: apt-get install chromium) and save their screenshots
# under $(ARTIFACTS).
ARTIFACTS ?= $(CURDIR)/test-output
test: vet
	mkdir -p $(ARTIFACTS)
	$(GO) test -race -count=1 -timeout 15m -artifacts -outputdir $(ARTIFACTS) ./...

test-short: vet
	$(GO) test -short -count=1 ./...

fmt:
	gofmt -w .

lint: vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

# bench runs the benchmarks named in docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# screenshots refreshes docs/images from the demo (tong serve --demo's
# agencies, counters, officials and topics) in Chromium, at phone
# (390x844) and desktop sizes: every role's pages (TestDemoScreenshots),
# and the phone wallet's screens (TestWalletAppJourney).
screenshots:
	mkdir -p docs/images
	TONG_SCREENSHOTS=$(CURDIR)/docs/images $(GO) test -count=1 -run 'TestDemoScreenshots' ./cmd/tong/
	TONG_SCREENSHOTS=$(CURDIR)/docs/images $(GO) test -count=1 -run 'TestWalletAppJourney' ./web/

# soak runs the verifier under load for a minute and reports RSS.
soak:
	TONG_SOAK=60s $(GO) test -count=1 -run TestSoak -v ./verifier/httpapi/

# wallet-wasm builds the wallet for the browser (wallet/wasm) into the web
# app's static files, with the wasm_exec.js of the same Go release, and
# compressed (tong serve serves the .gz, after checking it, rather than
# compressing 13 MB at start). All are build outputs (.gitignore).
WALLET_STATIC ?= web/walletapp/static
wallet-wasm:
	mkdir -p $(WALLET_STATIC)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WALLET_STATIC)/tong-wallet.wasm ./wallet/wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WALLET_STATIC)/wasm_exec.js
	gzip -9 -n -k -f $(WALLET_STATIC)/tong-wallet.wasm

# wallet-app writes the wallet web app as static files for any https host
# (docs/wallet-app.md): make wallet-app WALLET_APP=dir REGISTRY=https://...
WALLET_APP ?= wallet-site
wallet-app: build
	./$(BIN) wallet-app --out $(WALLET_APP) $(if $(REGISTRY),--registry $(REGISTRY))

clean:
	rm -rf bin
