#!/usr/bin/env bash
# Runs the streaming chatbot ($FLOW, by default flows/chatbot.yaml; or
# flows/chatbot-split.yaml). With OPENAI_BASE_URL set,
# it talks to that server. Otherwise it sets up and starts the local model
# server of tests/llmserver (node-llama-cpp serving the tiny stories260K
# model from ../shared/models), runs the chatbot against it and stops the
# server when the chat ends.
set -euo pipefail
cd "$(dirname "$0")/.."

flow="${FLOW:-flows/chatbot.yaml}"
go build -o flowrun ./cmd/flowrun

# On a terminal, job control runs the local server and flowrun in process
# groups of their own, flowrun's in the foreground: a Ctrl-C reaches
# flowrun alone, which stops the answer being streamed and goes on, and
# neither the server nor this script and make, which would end.
if [ -t 0 ]; then
	set -m
fi

if [ -n "${OPENAI_BASE_URL:-}" ]; then
	./flowrun "$flow" "$@"
	exit
fi

model="${FLOWRUN_MODEL:-../shared/models/stories260K.gguf}"
if [ ! -f "$model" ]; then
	echo "chat: no OPENAI_BASE_URL and no local model at $model" >&2
	echo "chat: set OPENAI_BASE_URL (and OPENAI_MODEL, OPENAI_API_KEY) to use a server, or FLOWRUN_MODEL to a GGUF file" >&2
	exit 1
fi
if ! command -v node >/dev/null 2>&1; then
	echo "chat: the local model server needs Node.js (apt-get install nodejs npm), or set OPENAI_BASE_URL" >&2
	exit 1
fi
if [ ! -d tests/llmserver/node_modules ]; then
	echo "chat: installing the local model server (npm ci, about 80 MB)..." >&2
	(cd tests/llmserver && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=optional --no-audit --no-fund >&2)
fi

log=$(mktemp)
MODEL_PATH="$(realpath "$model")" PORT=0 node tests/llmserver/server.mjs >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
	url=$(sed -n 's/^listening on //p' "$log")
	[ -n "$url" ] && break
	if ! kill -0 "$server" 2>/dev/null; then
		echo "chat: the local model server failed to start:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -z "${url:-}" ]; then
	echo "chat: the local model server did not start within 30 s" >&2
	exit 1
fi
echo "chat: local model stories260K at $url (a tiny story model: it ignores questions, but its tokens are real)" >&2
OPENAI_BASE_URL="$url/v1" OPENAI_MODEL=stories260k ./flowrun "$flow" "$@"
