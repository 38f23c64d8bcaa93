/**
 * The floor under `check`: reading a trace file and JSON.parse of every line, nothing else (no validation, no model).
 * Reads in the same 64 KiB chunks the trace reader uses. With --reader, the trace reader instead (the same reading and
 * parsing, plus its validation of every event), still without the model: check minus this is the model's share.
 * Usage: node --import tsx scripts/bench/parse-floor.ts TRACE [--reader]
 * Prints one JSON line: {"lines","parseFloorSeconds","parseFloorPeakRssMb"} (with --reader: "readerSeconds", "readerPeakRssMb").
 */

import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { readTraceBatches } from '../../tracer/trace/reader';

async function runReader(file: string): Promise<void> {
  const started = performance.now();
  let events = 0;
  for await (const batch of readTraceBatches(file)) events += batch.length;
  const readerSeconds = (performance.now() - started) / 1000;
  const readerPeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.error(`  the trace reader: ${readerSeconds.toFixed(2)} s for ${events.toLocaleString('en-US')} events, peak ${readerPeakRssMb} MB`);
  console.log(JSON.stringify({ lines: events + 1, readerSeconds: Number(readerSeconds.toFixed(3)), readerPeakRssMb }));
}

const READ_CHUNK_BYTES = 64 * 1024;

async function run(file: string): Promise<void> {
  const started = performance.now();
  const decoder = new StringDecoder('utf8');
  let partialLine = '';
  let lines = 0;
  let checksum = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) {
    const text = partialLine + decoder.write(chunk as Buffer);
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      const value = JSON.parse(text.slice(start, newline)) as { seq?: number };
      checksum += value.seq ?? 0;
      lines++;
      start = newline + 1;
    }
    partialLine = text.slice(start);
  }
  partialLine += decoder.end();
  if (partialLine.trim() !== '') {
    JSON.parse(partialLine);
    lines++;
  }
  const parseFloorSeconds = (performance.now() - started) / 1000;
  const parseFloorPeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.error(`  read + JSON.parse: ${parseFloorSeconds.toFixed(2)} s for ${lines.toLocaleString('en-US')} lines (seq sum ${checksum}), peak ${parseFloorPeakRssMb} MB`);
  console.log(JSON.stringify({ lines, parseFloorSeconds: Number(parseFloorSeconds.toFixed(3)), parseFloorPeakRssMb }));
}

const [file, mode] = process.argv.slice(2);
if (!file) {
  console.error('usage: parse-floor.ts TRACE [--reader]');
  process.exit(2);
}
(mode === '--reader' ? runReader(file) : run(file)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
