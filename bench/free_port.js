'use strict';
// Free loopback ports for the servers and cluster tasks the benchmarks start (bench/dist, bench/serve): the test
// suites' helper (test/helpers/free_port.ts: a port bound and released on 127.0.0.1, never one handed out twice
// in a process), from the build every bench script makes first.
const path = require('node:path');

module.exports = require(path.join(__dirname, '..', 'dist', 'test', 'helpers', 'free_port'));
