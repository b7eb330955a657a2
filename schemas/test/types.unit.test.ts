import { expect } from 'chai';
import {
  CONSUMER_FIXTURE,
  compareDiagnostics,
  readExpectedErrors,
  runTsc,
  type ExpectedError,
  type TscDiagnostic,
} from './support/typecheck.js';

// The package's types as a consumer project sees them (from src/ through `paths`, so no build
// or registry is needed; test/publish.int.test.ts repeats this against the published package).
describe('types seen by a consumer', function () {
  this.timeout(60_000);
  let exitCode: number;
  let diagnostics: TscDiagnostic[];
  let expected: ExpectedError[];

  before(async () => {
    ({ exitCode, diagnostics } = await runTsc(CONSUMER_FIXTURE));
    expected = await readExpectedErrors(CONSUMER_FIXTURE, 'bad.ts');
  });

  it('compile correct usage (good.ts) without errors', () => {
    expect(diagnostics.filter((d) => d.file !== 'bad.ts')).to.deep.equal([]);
  });

  it('reject wrong usage (bad.ts) with exactly the expected errors', () => {
    expect(expected.map((e) => e.code)).to.have.length(7);
    expect(compareDiagnostics(diagnostics, expected)).to.deep.equal([]);
    expect(exitCode).to.not.equal(0);
  });
});
