import { parseTcClasses, planTc, qosClassId, type LiveQdisc } from './tc-plan';

const none: LiveQdisc = { root: null, classes: [] };
const ours = (classes: LiveQdisc['classes']): LiveQdisc => ({ root: { kind: 'htb', handle: '1:' }, classes });
const cls = (verb: string, id: string, mbit: number) =>
  ['class', verb, 'dev', 'mg0', 'parent', '1:', 'classid', id, 'htb', 'rate', `${mbit}mbit`, 'ceil', `${mbit}mbit`, 'quantum', '1514'];

describe('planTc', () => {
  const q = (rateMbit: number) => ({ dstGroups: ['g'], dst: [], rateMbit });

  it('does nothing without QoS, and removes only its own qdisc when QoS goes away', () => {
    expect(planTc([], none, 'mg0')).toEqual([]);
    expect(planTc([], { root: { kind: 'fq_codel', handle: '0:' }, classes: [] }, 'mg0')).toEqual([]);
    expect(planTc([], ours([]), 'mg0')).toEqual([['qdisc', 'del', 'dev', 'mg0', 'root']]);
  });

  it('builds the HTB root, an unlimited default class and one class per rule', () => {
    expect(planTc([q(20), q(5)], none, 'mg0')).toEqual([
      ['qdisc', 'replace', 'dev', 'mg0', 'root', 'handle', '1:', 'htb', 'default', '1'],
      cls('add', '1:1', 100_000),
      cls('add', '1:10', 20),
      cls('add', '1:11', 5),
    ]);
  });

  it('changes only the classes that differ', () => {
    const live = ours([{ classid: '1:1', rateMbit: 100_000 }, { classid: '1:10', rateMbit: 20 }, { classid: '1:11', rateMbit: 5 }]);
    expect(planTc([q(20), q(5)], live, 'mg0')).toEqual([]);
    expect(planTc([q(20), q(8)], live, 'mg0')).toEqual([cls('change', '1:11', 8)]);
    expect(planTc([q(20)], live, 'mg0')).toEqual([['class', 'del', 'dev', 'mg0', 'classid', '1:11']]);
    expect(planTc([q(20)], ours([{ classid: '1:1', rateMbit: 100_000 }]), 'mg0')).toEqual([cls('add', '1:10', 20)]);
  });

  it('numbers classes in hex as tc does', () => {
    expect([0, 1, 9, 10].map(qosClassId)).toEqual(['1:10', '1:11', '1:19', '1:1a']);
  });
});

describe('parseTcClasses', () => {
  it('reads htb classes and their rates', () => {
    const text = 'class htb 1:10 root prio 0 rate 20Mbit ceil 20Mbit burst 1600b cburst 1600b \n'
      + 'class htb 1:1 root prio 0 rate 100Gbit ceil 100Gbit burst 0b cburst 0b \nclass htb 1:11 root rate 500Kbit ceil 500Kbit\n';
    expect(parseTcClasses(text)).toEqual([
      { classid: '1:10', rateMbit: 20 }, { classid: '1:1', rateMbit: 100_000 }, { classid: '1:11', rateMbit: 0.5 },
    ]);
  });
});
