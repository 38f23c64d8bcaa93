// Preloaded with `node --import` when /usr/bin/time is missing: reports the process's peak RSS on stderr at exit
// as a last line "maxrss-kb N" (process.resourceUsage().maxRSS is in kilobytes).
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nmaxrss-kb ${process.resourceUsage().maxRSS}\n`);
});
