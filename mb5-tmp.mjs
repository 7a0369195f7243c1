import Database from 'better-sqlite3';
import { hashCredential, newCredential } from './dist/core/secrets.js';
const db = new Database(':memory:');
db.exec('create table t (h text primary key, v int)');
const hashes = [];
for (let i = 0; i < 64; i++) { const h = hashCredential(newCredential('accessToken')); hashes.push(h); db.prepare('insert into t values (?, ?)').run(h, i); }
const st = db.prepare('select t.* from (select value from json_each(?)) as i join t on t.h = i.value'); st.raw(true);
const build = new Function('row', 'return { "h": row[0], "v": row[1] };');
let x = 0;
function find(batch) {
  const distinct = batch.filter((h, i) => batch.indexOf(h) === i);
  const rows = st.all(`["${distinct.join('","')}"]`).map(build);
  for (const row of rows) x += distinct.indexOf(row.h);
}
const batches = []; for (let i = 0; i < 48; i++) batches.push(hashes.slice(i, i + 16).map(h => process.env.FRESH ? hashCredential : h));
const N = 20000;
for (let i = 0; i < 2000; i++) find(batches[i % 48]);
const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) find(batches[i % 48]);
console.log((Number(process.hrtime.bigint() - t) / N).toFixed(0), 'ns per batch of 16', x > 0);
