// Prepares live capture on Linux: wine64 and mingw-w64 (Debian packages), the Windows node.exe and koffi's Windows
// binary (pinned npm packages), and the Wine prefix the tracer uses (~/.cache/sockshare/wine-prefix by default).
import { ensureNpmPackages, log } from './lib/setup.mjs';
import { ensureWineTools } from './lib/wine.mjs';
import { ensureWindowsRuntime } from './lib/win-runtime.mjs';

try {
  ensureNpmPackages();
  ensureWineTools();
  log(`Windows node.exe: ${ensureWindowsRuntime()}`);
  log('ready: the Wine prefix is created on the first recording');
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
