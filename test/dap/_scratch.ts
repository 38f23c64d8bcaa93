import { join } from 'node:path';
import { startClient, launchAndStop, RECORDINGS, scopesAt, children, named, nextStop } from './support';

async function dump(client: any, vars: any[], depth: number, indent = '') {
  for (const v of vars) {
    console.log(`${indent}${v.name} = ${v.value}${v.type ? ' : ' + v.type : ''}`);
    if (depth > 0 && v.variablesReference) await dump(client, await children(client, v), depth - 1, indent + '  ');
  }
}
async function main() {
  const client = await startClient();
  client.on('output', (e: any) => console.log('OUTPUT', e.body.category, JSON.stringify(e.body.output)));
  const file = process.argv[2] ?? 'handoff.sockshare.jsonl';
  const stop = await launchAndStop(client, { trace: join(RECORDINGS, file), stopOnEntry: true });
  console.log('STOP', JSON.stringify(stop.body));
  console.log(JSON.stringify((await client.threadsRequest()).body));
  let threadId = stop.body.threadId!;
  if (process.argv[3]) {
    const s = await nextStop(client, () => client.customRequest('gotoEvent', { seq: Number(process.argv[3]) }));
    console.log('STOP', JSON.stringify(s.body));
    threadId = s.body.threadId!;
  }
  const tid = (await client.threadsRequest()).body.threads[0].id;
  const last = client as any;
  void last;
  const sc = await scopesAt(client, threadId);
  console.log(JSON.stringify(sc.frames));
  for (const [name, vars] of Object.entries(sc.scopes)) { console.log('SCOPE', name); await dump(client, vars, 3, '  '); }
  void named; void tid;
  await client.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
