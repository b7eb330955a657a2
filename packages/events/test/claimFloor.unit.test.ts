import { expect } from 'chai';
import { ClaimFloor, type ClaimSighting } from '../src/relay/ClaimFloor.js';

const sighting = (over: Partial<ClaimSighting>): ClaimSighting => ({
  start: '0',
  lastSeq: null,
  full: false,
  snapshotXmin: '100',
  nextXid: '100',
  ...over,
});

describe('ClaimFloor: where a claim after a wake-up starts', () => {
  it('rises at once when no transaction was running while the rows were seen', () => {
    const floor = new ClaimFloor();
    floor.observe(sighting({ lastSeq: '40' }), true);
    expect(floor.value).to.equal('40');
  });

  it('waits for every transaction running at the sighting to end: a lower seq may still commit', () => {
    const floor = new ClaimFloor();
    // xid 95 was running (xmin 95 < xmax 100): it may hold seq 30, invisible so far.
    floor.observe(sighting({ lastSeq: '40', snapshotXmin: '95', nextXid: '100' }), true);
    expect(floor.value).to.equal('0');
    // A later fresh claim whose snapshot still has xid 99 running: not yet.
    floor.observe(sighting({ snapshotXmin: '99', nextXid: '104' }), true);
    expect(floor.value).to.equal('0');
    // Everything below xid 100 has ended: seq 40 and below are all visible now.
    floor.observe(sighting({ snapshotXmin: '100', nextXid: '104' }), true);
    expect(floor.value).to.equal('40');
  });

  it('only rises through a fresh claim that started at the floor', () => {
    const floor = new ClaimFloor();
    floor.observe(sighting({ lastSeq: '40' }), false);
    expect(floor.value).to.equal('0');
    floor.observe(sighting({ start: '12', snapshotXmin: '200', nextXid: '200' }), true);
    expect(floor.value).to.equal('0');
    floor.observe(sighting({ start: '0', snapshotXmin: '200', nextXid: '200' }), true);
    expect(floor.value).to.equal('40');
  });

  it('does not pass the last row of a full claim, which did not look further', () => {
    const floor = new ClaimFloor();
    floor.observe(sighting({ lastSeq: '90', snapshotXmin: '5', nextXid: '9' }), false);
    floor.observe(sighting({ lastSeq: '50', full: true, snapshotXmin: '9', nextXid: '9' }), true);
    expect(floor.value).to.equal('50');
    // The sighting of seq 90 is kept and used by the next fresh claim from 50.
    floor.observe(sighting({ start: '50', snapshotXmin: '9', nextXid: '9' }), true);
    expect(floor.value).to.equal('90');
  });

  it('stays below a row held back behind its aggregate in flight, which must be claimed later', () => {
    const floor = new ClaimFloor();
    floor.observe(sighting({ lastSeq: '40' }), true, 31n);
    expect(floor.value).to.equal('30');
    floor.observe(sighting({ start: '30' }), true, null);
    expect(floor.value).to.equal('40');
  });

  it('restarts below the lowest row still in flight, so rows held back behind it are seen', () => {
    const floor = new ClaimFloor();
    floor.observe(sighting({ lastSeq: '40' }), true);
    expect(floor.restartFrom(null)).to.equal('40');
    expect(floor.restartFrom(25n)).to.equal('24');
    expect(floor.restartFrom(70n)).to.equal('40');
    floor.reset();
    expect(floor.restartFrom(null)).to.equal('0');
  });
});
