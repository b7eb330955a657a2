import { expect } from 'chai';
import { ConfigError, envReader } from '../src/index.js';

describe('envReader', () => {
  const read = envReader({
    NAME: '  svc  ',
    BLANK: '   ',
    PORT: '8080',
    BAD_PORT: '80.5',
    FLAG: 'off',
    BAD_FLAG: 'maybe',
    URL: 'http://match:3000/',
    FTP: 'ftp://x',
    NOT_URL: 'match:3000 ',
  });

  it('trims strings and treats blank as unset', () => {
    expect(read.string('NAME')).to.equal('svc');
    expect(read.string('BLANK')).to.equal(undefined);
    expect(read.string('BLANK', 'd')).to.equal('d');
  });

  it('reads bounded integers and fails naming the variable', () => {
    expect(read.integer('PORT', 1, 0, 65535)).to.equal(8080);
    expect(read.integer('MISSING', 7, 0, 10)).to.equal(7);
    expect(() => read.integer('BAD_PORT', 1, 0, 65535)).to.throw(
      ConfigError,
      'BAD_PORT must be an integer from 0 to 65535, got "80.5"',
    );
    expect(() => read.integer('PORT', 1, 0, 100)).to.throw(ConfigError, /^PORT must be/);
  });

  it('reads booleans', () => {
    expect(read.boolean('FLAG', true)).to.equal(false);
    expect(read.boolean('MISSING', true)).to.equal(true);
    expect(() => read.boolean('BAD_FLAG', true)).to.throw(ConfigError, /^BAD_FLAG must be true/);
  });

  it('reads http URLs without the trailing slash', () => {
    expect(read.httpUrl('URL', 'http://x')).to.equal('http://match:3000');
    expect(read.httpUrl('MISSING')).to.equal(undefined);
    expect(() => read.httpUrl('FTP')).to.throw(ConfigError, /^FTP must be an http or https URL/);
    // `match:3000` parses as a URL with scheme `match:`; it is still refused, by scheme.
    expect(() => read.httpUrl('NOT_URL')).to.throw(ConfigError, /^NOT_URL must be/);
    expect(() => envReader({ U: 'not a url' }).httpUrl('U')).to.throw(
      ConfigError,
      'U must be an absolute URL, got "not a url"',
    );
  });
});
