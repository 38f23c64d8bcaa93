/** `sockshare export`: renders the trace and the model with one of tracer/export's formats and writes it to a file. */

import * as fs from 'node:fs';
import { EXPORT_FORMAT_IDS, isExportFormat, renderExport, type ExportFormat } from '../export/index';
import { modelOf } from '../model/index';
import { EXIT_OK, InputError, UsageError, type CliIo } from './io';
import { readWhole } from './load';

/** Checks --format and -o before anything is read. */
export function exportFormat(format: string | undefined, output: string | undefined): ExportFormat {
  const known = EXPORT_FORMAT_IDS.join(', ');
  if (format === undefined) throw new UsageError(`export: missing option --format (one of ${known})`, 'export');
  if (output === undefined || output === '') throw new UsageError('export: missing option -o FILE', 'export');
  if (!isExportFormat(format)) throw new UsageError(`export: unknown format '${format}' (expected one of ${known})`, 'export');
  return format;
}

export async function runExport(file: string, format: ExportFormat, output: string, io: CliIo): Promise<number> {
  const { header, events } = await readWhole(file, io.stderr);
  const model = modelOf(events);
  const text = renderExport(format, header, events, model);
  try {
    fs.writeFileSync(output, text);
  } catch (error) {
    throw new InputError(`${output}: cannot write: ${(error as Error).message}`);
  }
  io.stderr.write(`sockshare: wrote ${format} export of ${file} to ${output}\n`);
  return EXIT_OK;
}
