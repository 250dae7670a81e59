import { describe, expect, it } from '@jest/globals';
import { TurnBudget } from './turn-budget.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('TurnBudget', () => {
  it('lets a burst through a turn at a time, in the order it asked', async () => {
    const budget = new TurnBudget(3);
    const through: number[] = [];
    const all = Array.from({ length: 7 }, (_, i) => budget.take().then(() => through.push(i)));
    await settle();
    expect(through).toEqual([0, 1, 2]);
    await nextTurn();
    expect(through).toEqual([0, 1, 2, 3, 4, 5]);
    await nextTurn();
    expect(through).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await Promise.all(all);
  });

  it('charges costs, not calls: what fits joins the turn, and a cost larger than a turn gets the next one to itself', async () => {
    const budget = new TurnBudget(10);
    const through: string[] = [];
    void budget.take(4).then(() => through.push('4'));
    void budget.take(25).then(() => through.push('25'));
    void budget.take(6).then(() => through.push('6'));
    void budget.take(1).then(() => through.push('1'));
    await settle();
    expect(through).toEqual(['4', '6']);
    await nextTurn();
    expect(through).toEqual(['4', '6', '25']);
    await nextTurn();
    expect(through).toEqual(['4', '6', '25', '1']);
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => new TurnBudget(0)).toThrow(RangeError);
    expect(() => new TurnBudget(1.5)).toThrow(RangeError);
  });
});
