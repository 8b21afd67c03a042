// Shared by the browser tests: Chromium ($PSK_CHROMIUM, else Debian's /usr/bin/chromium) started the way this
// machine needs (no sandbox as root, no background traffic to a network that is closed), and check() lines
// ("ok ..." / "FAIL ..."). A browser that cannot start is a failure, never silence.

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

// The browser, or the process ends with a FAIL line and status 1.
export async function launch(check, extraArgs = []) {
  try {
    const { chromium } = await import('playwright-core');
    return await chromium.launch({
      executablePath: process.env.PSK_CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
    });
  } catch (e) {
    check('Chromium starts (playwright-core)', false, e.message.split('\n')[0]);
    process.exit(1);
  }
}
