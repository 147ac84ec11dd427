// ESLint (flat config): typescript-eslint's recommended and type-checked rules over src, test and bench,
// and the layers of src/ as import rules (bottom < core < edges; test/architecture/layers.test.ts proves they fire).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * A relative import of `names` at any depth: `./x`, `../x.js`, `../../x/y.js`. No directory or
 * file inside a layer is named like another layer, so a match always means that layer.
 */
const importOf = (names, message) => ({ regex: `^\\.{1,2}/(\\.\\./)*(${names.join('|')})(/|(\\.js)?$)`, caseSensitive: true, message });

// Every file under src/.
const SRC = [
  importOf(['test', 'bench'], 'src/ must not import test or benchmark code: move what both need into src/ (or the test helper into test/helpers/).'),
  importOf(
    ['demo'],
    'src/ must not import the demo (src/demo/ is the `npm run demo` script, left out of the build): move the shared piece into the module it belongs to.',
  ),
];
// The core: every src/ directory except the edges (slack/, cli/, sim/, demo/ and src/cli.ts).
const CORE = [
  ...SRC,
  importOf(['slack'], 'the core must not import the Slack layer: return data (ids, numbers, results) and let slack/ render it.'),
  importOf(['cli'], 'the core must not import the CLI: return data and let cli/ parse arguments and print it.'),
  importOf(['sim'], 'the core must not import the simulators: they stand in for VergeOS and Slack from outside; take the client or endpoint as a parameter.'),
];
// The bottom: VergeOS client, VM spec, planner, store, and the small modules they share.
const BOTTOM = [
  ...CORE,
  importOf(
    ['policy', 'preflight', 'provision', 'requests', 'batches', 'leases', 'workflows'],
    'vergeos/, vmspec/, plan/ and store/ (with errors, log, text, ops/metrics) are the bottom layer and must not import the layers above them: move the shared piece down, or have the caller pass it in.',
  ),
];
const EDGES = ['src/slack/**', 'src/cli/**', 'src/sim/**', 'src/demo/**', 'src/cli.ts'];
const BOTTOM_FILES = ['src/vergeos/**', 'src/vmspec/**', 'src/plan/**', 'src/store/**', 'src/errors.ts', 'src/log.ts', 'src/text.ts', 'src/ops/metrics.ts'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Async functions without an await are deliberate here: the store's methods are its
      // interface (a database-backed store will await), and callers rely on them returning promises.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read untyped JSON from the stand-ins (`res.json.errors[…]`): typing every probe adds noise, not safety.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // One rule, three scopes: a later block replaces the rule's options for its files, so each list
  // repeats the ones above it.
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: SRC }] } },
  { files: ['src/**/*.ts'], ignores: EDGES, rules: { 'no-restricted-imports': ['error', { patterns: CORE }] } },
  { files: BOTTOM_FILES, rules: { 'no-restricted-imports': ['error', { patterns: BOTTOM }] } },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { process: 'readonly' } },
  },
);
