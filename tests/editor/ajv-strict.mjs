// Compiles a JSON Schema with Ajv 8 in strict mode, the editor extensions
// of the YAML language server declared as known keywords, and validates
// YAML documents against it. Usage:
//
//   node ajv-strict.mjs SCHEMA [DOCUMENT...]
//
// It prints one JSON line per document on stdout, {"file", "valid",
// "errors"}, and exits 0; when the schema does not compile it prints why on
// stderr and exits 1. The Go test TestSchemasUnderAjvStrict runs it.
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import { parse } from "yaml";

// Keywords the YAML language server (and VS Code's JSON support) read
// beyond JSON Schema. They only annotate, so strict mode need only be told
// they exist.
const editorKeywords = [
  "markdownDescription",
  "enumDescriptions",
  "markdownEnumDescriptions",
  "patternErrorMessage",
  "errorMessage",
  "deprecationMessage",
  "doNotSuggest",
  "suggestSortText",
  "defaultSnippets",
];

const [schemaPath, ...docs] = process.argv.slice(2);
if (!schemaPath) {
  console.error("usage: node ajv-strict.mjs SCHEMA [DOCUMENT...]");
  process.exit(2);
}
// strict: true turns every strict check (strictSchema, strictTypes,
// strictTuples, strictRequired, strictNumbers) into an error; union types
// stay refused (no allowUnionTypes), only [T, "null"] is accepted.
const ajv = new Ajv({ strict: true, allErrors: true });
ajv.addVocabulary(editorKeywords);
let validate;
try {
  validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
} catch (e) {
  console.error(`${schemaPath}: ${e.message}`);
  process.exit(1);
}
for (const file of docs) {
  const valid = validate(parse(readFileSync(file, "utf8")));
  const errors = valid ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message} (${e.schemaPath})`);
  console.log(JSON.stringify({ file, valid, errors }));
}
