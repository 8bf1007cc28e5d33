// Lint: bugs typescript-eslint can see with type information (floating promises above all), the layering of
// ARCHITECTURE.md as import rules, and the 140-column limit. Formatting itself is Prettier's (`make fmt`).
import { builtinModules } from "node:module";
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import stylistic from "@stylistic/eslint-plugin";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

/**
 * The layering, per package: the @kumo packages its sources may import (with deep paths), single modules it
 * may import besides, whether it may use Node built-ins (api, client and web run in browsers too), and what
 * its tests may import on top. Anything else under @kumo/ is refused, so a new package is placed here first.
 */
const layers = [
  { pkg: "api", uses: [], node: false, tests: [] },
  { pkg: "client", uses: ["api"], node: false, tests: [] },
  { pkg: "web", uses: ["api", "client"], node: false, tests: ["server"], testGlobs: ["packages/web/src/e2e/**"] },
  { pkg: "runtime", uses: ["api", "client"], node: true },
  // Server and agent meet only through the API.
  { pkg: "server", uses: ["api", "client", "runtime"], node: true },
  { pkg: "agent", uses: ["api", "client", "runtime"], node: true },
  // The CLI reaches hosts through the API; of the agent it may use only the public entry (the host lab for
  // `kumo up`, the network driver for `kumo doctor`), never @kumo/agent/<path>.
  { pkg: "cli", uses: ["api", "client", "runtime", "server"], modules: ["agent"], node: true, tests: ["server"] },
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The rules of one layer: `no-restricted-imports` for import and export-from, the same test for `import("…")`. */
function layerRules({ pkg, uses, modules = [], node }) {
  const allowed = [...uses.map((u) => `${u}(/|$)`), ...modules.map((m) => `${escape(m)}$`)];
  const may = [...uses.map((u) => `@kumo/${u}`), ...modules.map((m) => `@kumo/${m} (no deep path)`)];
  const patterns = [
    {
      regex: allowed.length ? `^@kumo/(?!${allowed.join("|")})` : "^@kumo/",
      message: `layering: ${pkg} may import ${may.length ? `only ${may.join(", ")}` : "no other @kumo package"}`,
    },
  ];
  if (!node) {
    const builtins = builtinModules.map(escape).join("|");
    patterns.push({ regex: `^(node:|(${builtins})(/|$))`, message: `layering: ${pkg} runs in browsers too, so no Node built-ins` });
  }
  return {
    "no-restricted-imports": ["error", { patterns }],
    // esquery regexes cannot contain "/", hence \x2F.
    "no-restricted-syntax": [
      "error",
      ...patterns.map(({ regex, message }) => ({
        selector: `ImportExpression > Literal[value=/${regex.replaceAll("/", "\\x2F")}/]`,
        message,
      })),
    ],
  };
}

const testFiles = ["**/*.test.ts", "**/*.test.tsx"];
/** Code that only tests and benchmarks run: it may read untyped JSON responses without declaring their shape. */
const testCode = [...testFiles, "**/test-support.ts", "**/testing.ts", "**/testing/**", "packages/web/src/e2e/**", "test/**", "bench/**"];

export default defineConfig(
  { ignores: ["**/dist/**", ".kumo-test/**", "test-results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // One TypeScript program per package tsconfig, found as an editor finds it.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { "@stylistic": stylistic },
    rules: {
      // Prettier cannot break a long string, template or comment: this is what keeps every line within 140.
      "@stylistic/max-len": ["error", { code: 140, tabWidth: 2, ignoreUrls: true }],
      // The rule that pays for type-aware linting: a promise nobody awaits rejects unhandled and kills the process.
      // `void p` hides that just as well (the namespace finalizer's `void this.finalize(...)`), so it does not count
      // as handling: catch, or await. node:test's test()/describe() return promises the runner itself tracks.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          ignoreVoid: false,
          allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] }],
        },
      ],
      // An async callback where void is expected (setInterval, createServer) is the same unhandled rejection. React
      // ignores what an event handler returns, and the browser only logs the rejection, so JSX attributes may.
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      // `const { managedFields: _drop, ...rest } = obj` is how kumo omits a field.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { ignoreRestSiblings: true, argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
      // Rethrowing a caught `unknown` through reject() is fine.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
      // Off: each flags correct code here. `async` without await keeps an interface's shape; `"a" | string` documents the
      // known values; interface methods are arrow properties (unbound-method cannot tell); string += Buffer and
      // `${unknown}` in error messages are deliberate.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-redundant-type-constituents": "off",
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/restrict-plus-operands": "off",
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    files: testCode,
    rules: {
      // Tests reject with odd values on purpose, to see them handled.
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    files: ["packages/web/src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
  // Config files and scripts are in no tsconfig: syntax rules only.
  { files: ["**/*.js", "**/*.mjs", "packages/web/vite.config.ts"], ...tseslint.configs.disableTypeChecked },

  // Layering (ARCHITECTURE.md). Tests may use Node (node:test) and test servers, never a layer above that.
  ...layers.flatMap((l) => {
    const src = `packages/${l.pkg}/src`;
    const tests = [...testFiles.map((t) => `${src}/${t}`), ...(l.testGlobs ?? [])];
    const blocks = [{ files: [`${src}/**`], ignores: l.tests ? tests : [], rules: layerRules(l) }];
    if (l.tests) blocks.push({ files: tests, rules: layerRules({ ...l, uses: [...l.uses, ...l.tests], node: true }) });
    return blocks;
  }),
);
