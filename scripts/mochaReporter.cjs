// Mocha's spec reporter, plus a stats file per package so `npm test` can end with one
// summary for the whole workspace (turbo interleaves each package's own summary).
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class JetboxReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on(EVENT_TEST_FAIL, (test, err) => {
      failures.push({ title: test.fullTitle(), message: String(err && err.message) });
    });
    runner.once(EVENT_RUN_END, () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'package.json'), 'utf8'));
      const dir = path.join(__dirname, '..', '.test-results');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${pkg.name.replace(/[@/]/g, '_')}.json`);
      fs.writeFileSync(file, JSON.stringify({ package: pkg.name, stats: runner.stats, failures }));
    });
  }
}

module.exports = JetboxReporter;
