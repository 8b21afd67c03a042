// Shared by the browser tests: Debian's Chromium started the way this machine needs (no sandbox as root, no
// background traffic to a network that is closed), and a check() that prints "ok ..." / "FAIL ..." lines.
import { chromium } from 'playwright-core';

export const launch = (extraArgs = []) => chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
});

// checker('browser state') -> check(name, cond, detail); check.failed() counts the failures
export function checker(prefix) {
  let failed = 0;
  const check = (name, cond, detail = '') => {
    console.log(`${cond ? 'ok  ' : 'FAIL'} ${prefix}: ${name}${cond || !detail ? '' : ` (${detail})`}`);
    if (!cond) failed++;
  };
  check.failed = () => failed;
  return check;
}
