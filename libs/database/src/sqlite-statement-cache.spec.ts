import { describe, expect, it } from '@jest/globals';
import SQLite from 'better-sqlite3';
import { bulkChunks, paddedIdList, withStatementCache } from './sqlite-statement-cache.js';

/** A real in-memory SQLite whose `prepare` calls are counted. */
function counted() {
  const sqlite = new SQLite(':memory:');
  sqlite.exec('create table t (id text primary key, v integer)');
  let prepared = 0;
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((text: string) => {
    prepared += 1;
    return prepare(text);
  }) as typeof sqlite.prepare;
  return { sqlite, prepared: () => prepared };
}

const inList = (n: number) => `select * from t where id in (${Array(n).fill('?').join(',')})`;

describe('withStatementCache', () => {
  it('prepares a query shape once and runs it with any values', () => {
    const { sqlite, prepared } = counted();
    const cache = withStatementCache(sqlite);
    cache.prepare('insert into t (id, v) values (?, ?)').run(['a', 1]);
    cache.prepare('insert into t (id, v) values (?, ?)').run(['b', 2]);
    expect(cache.prepare('select count(*) as n from t').all([])).toEqual([{ n: 2 }]);
    expect(prepared()).toBe(2);
    sqlite.close();
  });

  it('keeps few bulk statements (many parameters), so odd-sized IN lists cannot fill it, and keeps the one in use', () => {
    const { sqlite, prepared } = counted();
    const cache = withStatementCache(sqlite, { bulkParameters: 4, bulkStatements: 2, statements: 100 });
    const full = inList(10);
    cache.prepare(full);
    for (let n = 5; n < 9; n++) {
      cache.prepare(inList(n));
      cache.prepare(full); // the writer's full batch, between odd-sized rests
    }
    // The full shape stayed (most recently used); the odd sizes were prepared once each.
    expect(prepared()).toBe(1 + 4);
    // Only two bulk statements are held: the oldest odd size is prepared again.
    cache.prepare(inList(5));
    expect(prepared()).toBe(6);
    // Small statements are not pushed out by bulk ones.
    cache.prepare(inList(2));
    for (let n = 11; n < 20; n++) cache.prepare(inList(n));
    cache.prepare(inList(2));
    expect(prepared()).toBe(6 + 1 + 9);
    sqlite.close();
  });

  it('drops the least recently used small statement beyond its bound', () => {
    const { sqlite, prepared } = counted();
    const cache = withStatementCache(sqlite, { statements: 2 });
    cache.prepare(inList(1));
    cache.prepare(inList(2));
    cache.prepare(inList(1)); // used: now the newest
    cache.prepare(inList(3)); // evicts inList(2)
    cache.prepare(inList(1));
    expect(prepared()).toBe(3);
    cache.prepare(inList(2));
    expect(prepared()).toBe(4);
    sqlite.close();
  });
});

describe('bulk statement shapes', () => {
  it('cuts rows into full statements, then descending powers of two, in order and without loss', () => {
    const rows = Array.from({ length: 1300 }, (_, i) => i);
    const chunks = bulkChunks(rows, 512);
    expect(chunks.map((c) => c.length)).toEqual([512, 512, 256, 16, 4]);
    expect(chunks.flat()).toEqual(rows);
    expect(bulkChunks([], 512)).toEqual([]);
    expect(bulkChunks([1, 2, 3], 512)).toEqual([[1, 2], [3]]);
  });

  it('gives a few row counts whatever the batch size', () => {
    const sizes = new Set<number>();
    for (let n = 1; n <= 3000; n++) for (const chunk of bulkChunks(Array.from({ length: n }), 512)) sizes.add(chunk.length);
    expect([...sizes].sort((a, b) => a - b)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
  });

  it('pads an IN list to a power of two with its last id', () => {
    expect(paddedIdList(['a', 'b', 'c'])).toEqual(['a', 'b', 'c', 'c']);
    expect(paddedIdList(['a'])).toEqual(['a']);
    expect(paddedIdList(['a', 'b', 'c', 'd'])).toEqual(['a', 'b', 'c', 'd']);
    expect(paddedIdList([])).toEqual([]);
  });
});
