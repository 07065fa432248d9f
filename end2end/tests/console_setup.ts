// The second server of the browser tests trusts a console (tests/console.spec.ts): its port, the
// console's key, and the console's own origin (another host name and port: another site).
const port = Number(process.env.E2E_PORT ?? 3100);
export const consoleServerPort = port + 2;
export const consoleServerURL = `http://127.0.0.1:${consoleServerPort}`;
export const consoleKey = 'the e2e console signing key, at least 32 bytes long';
export const consolePort = port + 3;
export const consoleOrigin = `http://localhost:${consolePort}`;
