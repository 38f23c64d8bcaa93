import { join } from 'node:path';
import { startClient, RECORDINGS } from './support';
async function main() {
  const client = await startClient();
  const initialized = client.waitForEvent('initialized');
  await client.initializeRequest();
  await initialized;
  const bp = await client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'WSADuplicateSocketW' }] });
  console.log(JSON.stringify(bp.body));
  const stopped = client.waitForEvent('stopped');
  const launched = client.launchRequest({ trace: join(RECORDINGS, 'handoff.sockshare.jsonl') } as any);
  await client.configurationDoneRequest();
  await launched;
  console.log(JSON.stringify((await stopped).body));
  await client.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
