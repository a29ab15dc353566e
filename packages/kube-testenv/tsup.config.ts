import { packageBuild } from '../../tsup.package.js';

export default packageBuild({ entry: { index: 'src/index.ts', vitest: 'src/vitest.ts', 'vitest-setup': 'src/vitest-setup.ts' }, external: ['vitest'] });
