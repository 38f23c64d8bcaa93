import { join } from 'node:path';
import { startClient, launchAndStop, RECORDINGS, scopesAt, children, named, nextStop } from './support';

async function main() {
  const client = await startClient();
  const out: string[] = [];
  client.on('output', (e: any) => out.push(`${e.body.category}: ${e.body.output}`));
  const stop = await launchAndStop(client, { trace: join(RECORDINGS, 'event-select-cancel.sockshare.jsonl') }, { filters: ['registration-cancelled'] });
  console.log('STOP', JSON.stringify(stop.body));
  console.log(JSON.stringify((await client.exceptionInfoRequest({ threadId: stop.body.threadId! })).body));
  const sc = await scopesAt(client, stop.body.threadId!);
  console.log(sc.frame.name);
  console.log(JSON.stringify(sc.scopes.Socket.map(v => [v.name, v.value])));
  console.log(JSON.stringify((await children(client, named(sc.scopes.Socket, 'cancelled registrations'))).map(v => [v.name, v.value])));
  console.log(JSON.stringify(sc.scopes.Findings.map(v => [v.name, v.value])));
  const back = await nextStop(client, () => client.stepBackRequest({ threadId: stop.body.threadId! }));
  console.log('BACK', JSON.stringify(back.body));
  const sc2 = await scopesAt(client, back.body.threadId!);
  console.log(sc2.frame.name);
  console.log(JSON.stringify(sc2.scopes.Socket.map(v => [v.name, v.value])));
  console.log(JSON.stringify(sc2.scopes.Findings.map(v => [v.name, v.value])));
  const rc = await nextStop(client, () => client.reverseContinueRequest({ threadId: stop.body.threadId! }));
  console.log('RC', JSON.stringify(rc.body));
  const c = await nextStop(client, () => client.continueRequest({ threadId: stop.body.threadId! }));
  console.log('C', JSON.stringify(c.body));
  const c2 = await nextStop(client, () => client.continueRequest({ threadId: stop.body.threadId! }));
  console.log('C2', JSON.stringify(c2.body));
  console.log(out.join(''));
  await client.stop();
  void children; void named;
}
main().catch((e) => { console.error(e); process.exit(1); });
