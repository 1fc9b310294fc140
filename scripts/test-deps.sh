#!/usr/bin/env bash
# Installs what "make test" needs beyond Go, so that every test runs on a
# fresh clone; when something cannot be installed here (a program, the
# test model), it fails naming each missing thing and how to get it.
#
# Each need is one line at the bottom: "need PROGRAM HOW" for a program on
# PATH, "npm_install DIR" for the packages of DIR/package-lock.json. Add
# new needs there. Installs are skipped when already up to date, so the
# script is cheap to run before every "make test".
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()

# need PROGRAM HOW records PROGRAM as missing, with HOW to install it,
# when it is not on PATH.
need() {
	command -v "$1" >/dev/null 2>&1 || missing+=("the program $1 ($2)")
}

# need_file FILE HOW records FILE as missing, with HOW to get it.
need_file() {
	[ -f "$1" ] || missing+=("the file $1 ($2)")
}

# npm_install DIR installs DIR's npm packages exactly as its lockfile says
# (npm ci), unless node_modules is already newer than the lockfile. Only
# the linux-x64 binaries the lockfile names are installed, and no install
# script downloads anything (NODE_LLAMA_CPP_SKIP_DOWNLOAD).
npm_install() {
	local dir=$1
	if ! command -v npm >/dev/null 2>&1; then
		return # reported by "need npm"
	fi
	if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
		return
	fi
	echo "test-deps: installing the npm packages of $dir (npm ci)..." >&2
	if ! (cd "$dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=optional --no-audit --no-fund >&2); then
		missing+=("the npm packages of $dir (npm ci failed; see above)")
	fi
}

# The real-model tests (tests/chatbot_test.go, internal/llm) run
# tests/llmserver, a Node.js server, with the stories260K model beside the
# repository.
need node "apt-get install nodejs npm"
need npm "apt-get install nodejs npm"
npm_install tests/llmserver
need_file "${FLOWRUN_TEST_GGUF:-../shared/models/stories260K.gguf}" "see tests/llmserver/README.md, or set FLOWRUN_TEST_GGUF to a GGUF file"
# The editor tests (tests/editor) drive the real yaml-language-server over
# LSP and compile the schemas with Ajv in strict mode.
npm_install tests/editor
# The pseudo-terminal tests drive "make chat" and the example flows run
# Python scripts.
need make "apt-get install make"
need bash "apt-get install bash"
need python3 "apt-get install python3"
# The browser test (tests/web_browser_test.go) drives the chat page in
# headless Chromium; .ci/run installs it.
need chromium "apt-get install chromium"

if [ ${#missing[@]} -gt 0 ]; then
	echo "test-deps: cannot run every test; missing:" >&2
	printf '  - %s\n' "${missing[@]}" >&2
	exit 1
fi
