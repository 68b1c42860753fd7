// Where the test fixtures are, from any compiled suite (dist/test/<suite>/…): the one definition of these paths.
import * as path from 'node:path';

/** The repository root. */
export const REPO = path.resolve(__dirname, '..', '..', '..');
/** test/fixtures: the shared models and their Python oracle JSON files. */
export const FIXTURES = path.join(REPO, 'test', 'fixtures');
