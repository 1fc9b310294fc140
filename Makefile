# The two commands of the README: "make chat" runs the main job, "make test"
# runs every test. .ci/run calls "make test".

GO ?= go

.PHONY: chat test test-deps flowrun

# flowrun builds the command into ./flowrun.
flowrun:
	$(GO) build -o flowrun ./cmd/flowrun

# chat runs the streaming terminal chatbot: against $OPENAI_BASE_URL when it
# is set, else against the local model server, which it installs, starts
# and stops (scripts/chat.sh). FLOW=flows/chatbot-split.yaml runs the
# other chatbot.
FLOW ?= flows/chatbot.yaml

chat:
	FLOW="$(FLOW)" ./scripts/chat.sh

# test-deps installs what the tests need beyond Go (the local model
# server's npm packages), or fails naming what is missing
# (scripts/test-deps.sh).
test-deps:
	./scripts/test-deps.sh

# test vets and tests every package with the race detector, then runs the
# flows' own tests (flows/*_test.yaml) with "flowrun test". With
# FLOWRUN_TEST_ALL=1 a test that misses something fails instead of being
# skipped, so every test runs.
test: test-deps
	$(GO) vet ./... && FLOWRUN_TEST_ALL=1 $(GO) test -race ./...
	$(GO) run ./cmd/flowrun test flows/
