#!/usr/bin/env node
/**
 * `tfhub-node` command line:
 *   tfhub-node run [handle] [--signature NAME] [--tags a,b] [--input key=JSON ...]   run a model's signature
 *   tfhub-node serve [--flag=value ...]                                             tensorflow_model_server's drop-in
 *   tfhub-node inspect <handle>                                                     saved_model_cli show --all
 *   tfhub-node tf-server --cluster SPEC --job NAME --task N                          a task of a TensorFlow cluster
 * `tfhub-node <command> --help` lists a command's options. Usage errors exit with code 2.
 */
// Commands load lazily, so that usage errors answer without loading TensorFlow.
const runCommand = async (argv: string[]) => (await import('./cli/run')).runCommand(argv);
const serveCommand = async (argv: string[]) => (await import('./cli/serve')).serveCommand(argv);
const inspectCommand = async (argv: string[]) => (await import('./cli/inspect')).inspectCommand(argv);
const tfServerCommand = async (argv: string[]) => (await import('./cli/tf_server')).tfServerMain(argv);

const USAGE = `usage: tfhub-node <command> [options]
commands:
  run     print a model's signatures and run one (TF1 Hub modules and SavedModels)
  serve   serve models as tensorflow_model_server does (REST and gRPC; its flags)
  inspect print what saved_model_cli show --all prints (tag sets, signatures)
  tf-server  run this process as a task of a TensorFlow cluster (ps/worker), as tf.distribute.Server
'tfhub-node <command> --help' lists a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command.startsWith('-')) {
    if (command === '--help' || command === '-h') {
      console.log(USAGE);
      return 0;
    }
    // No command: `run` with these options (the bundled example by default).
    return runCommand(argv);
  }
  if (command === 'run') return runCommand(rest);
  if (command === 'serve') return serveCommand(rest);
  if (command === 'inspect') return inspectCommand(rest);
  if (command === 'tf-server') return tfServerCommand(rest);
  if (command === 'help') {
    console.log(USAGE);
    return 0;
  }
  console.error(`tfhub-node: unknown command '${command}'\n${USAGE}`);
  return 2;
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
