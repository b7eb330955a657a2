import { expect } from 'chai';
import { isJetboxError, JetboxErrorCode } from '../../src/errors.js';

/** Asserts that `resolve` refuses its input with INVALID_OPTIONS naming `property` and matching `problem`. */
export function expectInvalidOption(
  resolve: () => unknown,
  property: string,
  problem: RegExp,
): void {
  try {
    resolve();
  } catch (err) {
    expect(isJetboxError(err, JetboxErrorCode.InvalidOptions), String(err)).to.equal(true);
    expect((err as Error).message).to.contain(`invalid option ${property}:`);
    expect((err as Error).message).to.match(problem);
    return;
  }
  expect.fail(`expected ${property} to be refused`);
}
