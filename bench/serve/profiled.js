'use strict';
// Runs a Node script (argv[2..]) with a CPU profiler that the parent starts and stops over IPC ('start' /
// 'stop'), so a profile covers the load only, not start-up. The profile is written to $PROFILE_OUT.
const fs = require('node:fs');
const inspector = require('node:inspector');

const session = new inspector.Session();
session.connect();
process.on('message', (m) => {
  if (m === 'start') {
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start', () => process.send('started'))),
    );
  } else if (m === 'stop') {
    session.post('Profiler.stop', (err, r) => {
      fs.writeFileSync(process.env.PROFILE_OUT, JSON.stringify(err ? {} : r.profile));
      process.send('stopped');
    });
  }
});
process.channel?.unref();
process.argv.splice(1, 1);
require(require('node:path').resolve(process.argv[1]));
