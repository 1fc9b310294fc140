// An OpenAI-compatible chat-completions server over node-llama-cpp, for
// flowrun's end-to-end tests and `make chat`. It serves one GGUF model on
// 127.0.0.1 (llm-backend.md §1 and Appendix A).
//
//   MODEL_PATH=../../../shared/models/stories260K.gguf PORT=8080 node server.mjs
//
// Environment:
//   MODEL_PATH  the GGUF file (required)
//   PORT        the port; 0 (the default) picks a free one. Either way the
//               server prints "listening on http://127.0.0.1:PORT" on stdout
//               once the model is loaded and it accepts requests.
//   MODEL_NAME  the id reported by /v1/models (default: the file name
//               without .gguf)
//   THREADS     inference threads (default 1: on 2 cores, ggml's spinning
//               barrier collapses throughput as soon as another process
//               runs, see llm-backend.md §1.4)
//
// Endpoints:
//   GET  /v1/models             the one model
//   POST /v1/chat/completions   stream (SSE) and non-stream answers; the
//                               prompt is the message contents joined by
//                               newlines (the test model has no chat template)
//   GET  /debug/requests        the messages of every chat request so far,
//                               as a JSON list, oldest first
// Each chat request is also logged as one JSON line on stderr.
//
// Generations are serialised (one context, one sequence, cleared before
// each request); a client that disconnects aborts its generation.

import http from "node:http";
import path from "node:path";
import { getLlama, LlamaCompletion } from "node-llama-cpp";

const modelPath = process.env.MODEL_PATH;
if (!modelPath) {
  console.error("llmserver: set MODEL_PATH to a GGUF file");
  process.exit(2);
}
const port = Number(process.env.PORT ?? "0");
const threads = Number(process.env.THREADS ?? "1");
const modelName = process.env.MODEL_NAME ?? path.basename(modelPath).replace(/\.gguf$/i, "");
const contextSize = 512;
const defaultMaxTokens = 128;

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize, threads, sequences: 1 });
const sequence = context.getSequence();
const completion = new LlamaCompletion({ contextSequence: sequence });

const seen = []; // messages of every chat request, for GET /debug/requests
let queue = Promise.resolve(); // serialises generations
let nextId = 1;

function sendJSON(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

function sendError(res, status, message, type = "invalid_request_error", param = null) {
  sendJSON(res, status, { error: { message, type, param, code: null } });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > 8 << 20) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

// validate returns an error message for a bad chat request, or null.
function validate(body) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "the body must be a JSON object";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "'messages' must be a non-empty array";
  for (const [i, m] of body.messages.entries()) {
    if (m === null || typeof m !== "object" || typeof m.role !== "string") return `messages[${i}]: want {role, content}`;
    if (m.content !== null && m.content !== undefined && typeof m.content !== "string" && !Array.isArray(m.content)) {
      return `messages[${i}].content: want a string`;
    }
  }
  for (const f of ["max_tokens", "max_completion_tokens"]) {
    if (body[f] !== undefined && body[f] !== null && !(Number.isInteger(body[f]) && body[f] > 0)) return `'${f}' must be a positive integer`;
  }
  if (body.temperature !== undefined && body.temperature !== null && !(typeof body.temperature === "number" && body.temperature >= 0 && body.temperature <= 2)) {
    return "'temperature' must be a number from 0 to 2";
  }
  return null;
}

function contentText(c) {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.filter((p) => p && p.type === "text").map((p) => p.text).join("");
  return "";
}

async function chat(req, res) {
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (e) {
    return sendError(res, 400, `invalid JSON body: ${e.message}`);
  }
  const problem = validate(body);
  if (problem) return sendError(res, 400, problem);

  const messages = body.messages.map((m) => ({ role: m.role, content: contentText(m.content) }));
  seen.push(messages);
  console.error(JSON.stringify({ time: new Date().toISOString(), stream: !!body.stream, messages }));

  const stream = body.stream === true;
  const includeUsage = stream && body.stream_options?.include_usage === true;
  const maxTokens = Math.min(body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens, contextSize - 8);
  const temperature = body.temperature ?? 0;
  const id = `chatcmpl-${nextId++}`;
  const created = Math.floor(Date.now() / 1000);

  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort(new Error("client disconnected"));
  });

  // Wait for the generations before this one.
  const turn = queue.then(() => generate());
  queue = turn.catch(() => {});
  await turn;

  async function generate() {
    if (abort.signal.aborted) return;
    await sequence.clearHistory();

    // The prompt: the contents joined by newlines, cut from the start so
    // that it and the answer fit the context.
    let tokens = model.tokenize(messages.map((m) => m.content).join("\n"));
    const room = contextSize - maxTokens - 1;
    if (tokens.length > room) tokens = tokens.slice(tokens.length - room);
    if (tokens.length === 0) tokens = model.tokenize("\n");

    const chunk = (delta, finish = null) => ({
      id, object: "chat.completion.chunk", created, model: modelName,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);

    if (stream) {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
      send(chunk({ role: "assistant", content: null }));
    }
    let completionTokens = 0;
    let text = "";
    let result;
    try {
      result = await completion.generateCompletionWithMeta(tokens, {
        maxTokens,
        temperature,
        signal: abort.signal,
        stopOnAbortSignal: true,
        onToken: (t) => { completionTokens += t.length; },
        onTextChunk: (piece) => {
          text += piece;
          if (stream && piece !== "") send(chunk({ content: piece }));
        },
      });
    } catch (e) {
      if (abort.signal.aborted) return;
      const error = { message: `generation failed: ${e.message}`, type: "server_error", code: 500 };
      if (stream) {
        send({ error });
        res.end();
      } else {
        sendJSON(res, 500, { error });
      }
      return;
    }
    if (abort.signal.aborted) return;
    const finish = result.metadata.stopReason === "maxTokens" ? "length" : "stop";
    const usage = { prompt_tokens: tokens.length, completion_tokens: completionTokens, total_tokens: tokens.length + completionTokens };
    if (stream) {
      send(chunk({}, finish));
      if (includeUsage) send({ id, object: "chat.completion.chunk", created, model: modelName, choices: [], usage });
      res.end("data: [DONE]\n\n");
    } else {
      sendJSON(res, 200, {
        id, object: "chat.completion", created, model: modelName,
        choices: [{ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: finish }],
        usage,
      });
    }
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  try {
    if (req.method === "GET" && url.pathname === "/v1/models") {
      return sendJSON(res, 200, { object: "list", data: [{ id: modelName, object: "model", created: 0, owned_by: "llmserver" }] });
    }
    if (req.method === "GET" && url.pathname === "/debug/requests") {
      return sendJSON(res, 200, seen);
    }
    if (url.pathname === "/v1/chat/completions") {
      if (req.method !== "POST") return sendError(res, 405, "use POST");
      return await chat(req, res);
    }
    sendJSON(res, 404, { error: { message: `no route ${req.method} ${url.pathname}`, type: "not_found_error", param: null, code: null } });
  } catch (e) {
    console.error(`llmserver: ${e.stack ?? e}`);
    if (!res.headersSent) sendError(res, 500, e.message, "server_error");
    else res.end();
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
