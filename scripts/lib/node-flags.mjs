// The Node/V8 flags the supervisor (scripts/start.mjs) gives its long-lived children, from
// measurements of `npm run bench:memory` (README, "Idle memory").
//
// --no-wasm-tier-up --no-wasm-dynamic-tiering: Prisma's query compiler is WebAssembly. V8 compiles
// it with Liftoff (the baseline compiler) and re-optimises hot functions with TurboFan, which left
// tens of MB of compiler memory resident in every process that had run a query, for no measurable
// speed (Prisma caches its query plans). Both flags are needed: Node 20's V8 tiers up hot functions
// dynamically whatever --wasm-tier-up says, and with dynamic tiering off alone it compiles every
// function with TurboFan up front. Together, functions stay on Liftoff, and one Liftoff cannot
// compile still goes to TurboFan. (Not --liftoff-only: a V8 testing flag that aborts the process
// on such a function instead.)
// --max-semi-space-size=2 (MB), worker only: its young generation otherwise grows to 2 × 16 MB at
// start-up and stays resident. The web process keeps V8's default (its request path allocates a lot).
const LIFTOFF = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];
export const CHILD_NODE_FLAGS = { web: LIFTOFF, worker: [...LIFTOFF, '--max-semi-space-size=2'] };

/** A flag's option name, so `--max_semi_space_size=4`, `--max-semi-space-size 4` and `--no-…` match alike. */
const optionName = (flag) => flag.split('=')[0].replace(/^--(no-?)?/, '').replaceAll('_', '-');

/**
 * The flags for child `name` ('web' or 'worker'). GATEHOUSE_NODE_FLAGS, when set, replaces them for
 * every child (space-separated; empty: none). Otherwise an option NODE_OPTIONS already names wins
 * (Node accepts only a few V8 options there, --max-semi-space-size among them).
 */
export function childNodeFlags(name, env = process.env) {
  if (env.GATEHOUSE_NODE_FLAGS !== undefined) return env.GATEHOUSE_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const named = new Set((env.NODE_OPTIONS ?? '').split(/\s+/).filter((word) => word.startsWith('--')).map(optionName));
  return CHILD_NODE_FLAGS[name].filter((flag) => !named.has(optionName(flag)));
}
