/** Process entry point for the `latchkey` command. */
import { runCli } from './cli.js';

const args = process.argv.slice(2);
const code = await runCli(args);
// `serve` keeps the process alive; every other command ends here.
if (code !== 0 || args[0] !== 'serve') process.exit(code);
