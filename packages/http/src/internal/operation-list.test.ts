import { describe, expect, test } from 'vitest';
import { type Operation, OperationList } from './operation.ts';

/** Stand-ins with just the links the list uses. */
function ops(n: number): Operation[] {
  return Array.from(
    { length: n },
    () => ({ prevInList: undefined, nextInList: undefined }) as unknown as Operation,
  );
}

describe('OperationList (the requests in flight of a client)', () => {
  test('counts and lists what was added and not yet removed, from any position', () => {
    const list = new OperationList();
    const [a, b, c, d] = ops(4) as [Operation, Operation, Operation, Operation];
    for (const op of [a, b, c, d]) list.add(op);
    expect(list.size).toBe(4);
    list.delete(c); // middle
    list.delete(d); // head
    list.delete(a); // tail
    expect(list.size).toBe(1);
    expect(list.toArray()).toEqual([b]);
    list.delete(b);
    expect([list.size, list.toArray()]).toEqual([0, []]);
  });

  test('removing an operation twice, or one never added, changes nothing', () => {
    const list = new OperationList();
    const [a, b, stranger] = ops(3) as [Operation, Operation, Operation];
    list.add(a);
    list.add(b);
    list.delete(a);
    list.delete(a);
    list.delete(stranger);
    expect(list.size).toBe(1);
    expect(list.toArray()).toEqual([b]);
    expect([a.prevInList, a.nextInList]).toEqual([undefined, undefined]);
  });
});
