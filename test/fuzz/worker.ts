// Child process of the fuzz runner: runs the cases it is sent (over IPC), one at a time, and answers each.
import { Graph } from '../../src';
import { CaseClass, runCase } from './cases';

// Load TensorFlow before saying ready: a broken setup must fail the run, not pass as typed errors.
new Graph().dispose();
process.on('message', (msg: { seed: number; id: number; classes?: CaseClass[] }) => {
  void runCase(msg.seed, msg.id, msg.classes).then((r) => process.send!(r));
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
