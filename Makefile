# The two commands of the README: "make chat" runs the main job, "make test"
# runs every test. .ci/run calls "make test".

GO ?= go

.PHONY: chat test flowrun

# flowrun builds the command into ./flowrun.
flowrun:
	$(GO) build -o flowrun ./cmd/flowrun

# chat runs the streaming terminal chatbot: against $OPENAI_BASE_URL when it
# is set, else against the local model server, which it installs, starts
# and stops (scripts/chat.sh).
chat:
	./scripts/chat.sh

# test vets and tests every package with the race detector.
test:
	$(GO) vet ./... && $(GO) test -race ./...
