// The layer rules of lib/ (README, "Layout"): data flows down, so a module imports only from its own
// stage or the stages above it in this list, never below:
//   errors.ts, run.ts → records → settings → sources → ec2py → store → flow → provision → cli
// (ec2py does not see the sources, and provision does not see the request flow.) Checked by
// `npm test`; a broken rule fails it.
const stage = (name) => `^lib/${name}(/|\\.ts$)`;
const below = (...names) => `^lib/(${names.join('|')})(/|\\.ts$)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'An import circle hides which module comes first in the flow.', from: {}, to: { circular: true } },
    { name: 'shared-leaves', severity: 'error', comment: 'errors.ts and run.ts serve every stage and depend on none.',
      from: { path: '^lib/(errors|run)\\.ts$' }, to: { path: below('records', 'settings', 'sources', 'ec2py', 'store', 'flow', 'provision', 'cli', 'index') } },
    { name: 'records-first', severity: 'error', comment: 'Records are the types every stage shares; they depend on no stage.',
      from: { path: stage('records') }, to: { path: below('settings', 'sources', 'ec2py', 'store', 'flow', 'provision', 'cli', 'index') } },
    { name: 'settings-before-sources', severity: 'error', from: { path: stage('settings') },
      to: { path: below('sources', 'ec2py', 'store', 'flow', 'provision', 'cli', 'index') } },
    { name: 'sources-fetch-only', severity: 'error', comment: 'Sources fetch records; what becomes of them is decided below.',
      from: { path: stage('sources') }, to: { path: below('ec2py', 'store', 'flow', 'provision', 'cli', 'index') } },
    { name: 'ec2py-rules-are-pure', severity: 'error', comment: "ec2.py's rules: records in, groups and hostvars out; no fetching, no storing.",
      from: { path: stage('ec2py') }, to: { path: below('sources', 'store', 'flow', 'provision', 'cli', 'index', 'run') } },
    { name: 'ec2py-no-io', severity: 'error', comment: 'The rules do no I/O: no node built-ins, no packages (SDK types come through records/).',
      from: { path: stage('ec2py') }, to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] } },
    { name: 'store-below-rules', severity: 'error', from: { path: stage('store') }, to: { path: below('sources', 'flow', 'provision', 'cli', 'index') } },
    { name: 'flow-before-commands', severity: 'error', from: { path: stage('flow') }, to: { path: below('provision', 'cli', 'index') } },
    { name: 'provision-without-request-flow', severity: 'error', from: { path: stage('provision') }, to: { path: below('flow', 'cli', 'index') } },
    { name: 'shared-provision-steps', severity: 'error', comment: 'template/ and image/ are steps every target shares; they know no target.',
      from: { path: '^lib/provision/(template|image)/' }, to: { path: '^lib/provision/(libvirt|ec2|openvz)/' } },
    { name: 'targets-apart', severity: 'error', comment: 'One folder per target: libvirt, ec2 and openvz do not reach into each other.',
      from: { path: '^lib/provision/(libvirt|ec2|openvz)/' }, to: { path: '^lib/provision/(libvirt|ec2|openvz)/', pathNot: '^lib/provision/$1/' } },
    { name: 'commands-last', severity: 'error', comment: 'Only the package entry (index.ts) may sit above the command lines, and it does not use them.',
      from: { path: '^lib/', pathNot: '^lib/cli/' }, to: { path: '^lib/cli/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    // TypeScript 7 (the native compiler this project builds with) has no JavaScript API for
    // dependency-cruiser to parse with; swc reads the same sources, type-only imports included.
    parser: 'swc',
  },
};
