// Hostile graphs (src/hub/graph_check.ts): each is built from a real fixture's proto, loaded in its own process
// (an abort or segfault would be the child's signal, not a dead runner), and must be refused with a typed error.
import { before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tensorflow } from '../../src/proto';
import { describeChild, runChild } from '../core/helpers/util';
import { copyFixture, editSavedModel } from '../hub/helpers';

const CHILD = path.join(__dirname, 'helpers', 'load_child.js');

type Edit = (mg: tensorflow.MetaGraphDef) => void;

function fn(mg: tensorflow.MetaGraphDef, prefix: string): tensorflow.FunctionDef {
  const f = mg.graphDef!.library!.function!.find((x) => x.signature!.name!.startsWith(prefix));
  assert.ok(f, `a function ${prefix}*`);
  return f as tensorflow.FunctionDef;
}

function node(nodes: tensorflow.INodeDef[], pred: (n: tensorflow.INodeDef) => boolean, what: string): tensorflow.INodeDef {
  const n = nodes.find(pred);
  assert.ok(n, what);
  return n!;
}

interface Case { label: string; fixture: string; kind: 'load' | 'module'; edit?: Edit; code?: string; message?: RegExp }
const cases: Case[] = [];
const results = new Map<Case, { ok?: boolean; code?: string; message?: string }>();
let child = '';

/** Registers a hostile case (or, without `edit`, an untouched fixture that must load) and its test. */
function refused(label: string, fixture: string, kind: 'load' | 'module', edit: Edit | undefined, code?: string, message?: RegExp): void {
  const c: Case = { label, fixture, kind, edit, code, message };
  cases.push(c);
  test(label, () => {
    const out = results.get(c);
    assert.ok(out, `no result (the child died before this case)\n${child}`);
    if (!edit) {
      assert.deepEqual(out, { ok: true }, label);
      return;
    }
    assert.equal(out.code, code, JSON.stringify(out));
    assert.match(out.message!, message!);
  });
}

const constDtypeClash: Edit = (mg) => {
  const c = node(mg.graphDef!.node!, (n) => n.op === 'Const' && n.attr!.value?.tensor?.dtype === tensorflow.DataType.DT_FLOAT, 'a float Const');
  c.attr!.dtype = { type: tensorflow.DataType.DT_INT32 };
};

describe('hostile graphs are refused before TF imports them (ERR_INVALID_GRAPH), all loaded in one child process', () => {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tfhub-hostile-'));
    const args: string[] = [];
    cases.forEach((c, i) => {
      const d = copyFixture(c.fixture, dir, `case_${i}`);
      if (c.edit) editSavedModel(d, (sm) => c.edit!(sm.metaGraphs[0] as tensorflow.MetaGraphDef));
      args.push(c.kind, d);
    });
    const r = await runChild(args[0], args.slice(1), 180_000, CHILD);
    child = describeChild(r);
    const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
    lines.forEach((l, i) => results.set(cases[i], JSON.parse(l)));
    assert.equal(r.signal, null, child);
    assert.equal(r.code, 0, child);
  });
  process.on('exit', () => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const clash = /its tensor is DT_FLOAT but its dtype attr is DT_INT32/;
  refused('Const dtype clashing with its tensor (TF: SIGABRT in tensor.cc), hub.load', 'mlp_v1', 'load', constDtypeClash, 'ERR_INVALID_GRAPH', clash);
  refused('Const dtype clashing with its tensor, hub.Module', 'mlp_v1', 'module', constDtypeClash, 'ERR_INVALID_GRAPH', clash);
  refused('a Const without value in a function body (TF: SIGABRT in the optimizer)', 'control_flow_tf2', 'load', (mg) => {
    const c = node(fn(mg, 'while_body').nodeDef!, (n) => n.op === 'Const', 'a Const in while_body');
    delete c.attr!.value;
  }, 'ERR_INVALID_GRAPH', /function 'while_body_\d+': node '.*' \(Const\) has no 'value' tensor/);
  refused('a function that calls itself (TF: stack overflow in shape inference)', 'tf2_mlp', 'load', (mg) => {
    const f = fn(mg, '__inference_serve_');
    f.nodeDef!.push(tensorflow.NodeDef.create({ name: 'again', op: f.signature!.name!, input: f.signature!.inputArg!.map((a) => a.name!) }));
  }, 'ERR_INVALID_GRAPH', /function '__inference_serve_\d+' calls itself/);
  refused('functions calling each other in a cycle', 'tf2_mlp', 'load', (mg) => {
    const serve = fn(mg, '__inference_serve_');
    const inner = fn(mg, node(serve.nodeDef!, (n) => n.op === 'StatefulPartitionedCall', 'a call in serve').attr!.f!.func!.name!);
    const args = (inner.signature!.inputArg ?? []).map((a) => a.name!);
    inner.nodeDef!.push(tensorflow.NodeDef.create({ name: 'back', op: serve.signature!.name!, input: args.slice(0, serve.signature!.inputArg!.length) }));
  }, 'ERR_INVALID_GRAPH', /cycle: .* -> .* -> /);
  const whileNode = (mg: tensorflow.MetaGraphDef) => node(fn(mg, '__inference___call__').nodeDef!, (n) => n.op === 'While' || n.op === 'StatelessWhile', 'a While');
  refused('a While whose body function is missing (TF: SIGSEGV when lowering)', 'control_flow_tf2', 'load', (mg) => { whileNode(mg).attr!.body = { func: { name: 'no_such_body' } }; },
    'ERR_INVALID_GRAPH', /attr 'body' names function 'no_such_body', which is missing from the library/);
  refused('a While whose body has the wrong arity', 'control_flow_tf2', 'load', (mg) => {
    const w = whileNode(mg);
    w.attr!.body = { func: { name: w.attr!.cond!.func!.name } }; // cond returns one bool
  }, 'ERR_INVALID_GRAPH', /body 'while_cond_\d+' returns 1 values, the node expects \d+/);
  refused('an If naming a missing branch in a TF1 Hub module graph', 'control_flow_v2', 'module', (mg) => {
    node(mg.graphDef!.node!, (n) => n.op === 'If' || n.op === 'StatelessIf', 'an If').attr!.then_branch = { func: { name: 'gone' } };
  }, 'ERR_INVALID_GRAPH', /attr 'then_branch' names function 'gone'/);
  refused('a PartitionedCall naming a missing function in a TF2 library', 'tf2_mlp', 'load', (mg) => {
    node(fn(mg, '__inference_serve_').nodeDef!, (n) => n.op === 'StatefulPartitionedCall', 'a call').attr!.f = { func: { name: 'gone' } };
  }, 'ERR_INVALID_GRAPH', /attr 'f' names function 'gone'/);
  refused('a TF1 Merge with one input repeated (TF: SIGABRT in graph_constructor.cc)', 'control_flow_v1', 'load', (mg) => {
    const m = node(mg.graphDef!.node!, (n) => n.op === 'Merge', 'a Merge');
    m.input![1] = m.input![0];
  }, 'ERR_INVALID_GRAPH', /\(Merge\) has input '.*' twice/);
  refused('an input naming a missing node', 'mlp_v1', 'load', (mg) => {
    node(mg.graphDef!.node!, (n) => (n.input ?? []).length > 0, 'a node with inputs').input![0] = 'no_such_node';
  }, 'ERR_INVALID_GRAPH', /has input 'no_such_node', which is not a node of the graph/);
  refused('an input naming an output the node does not have', 'mlp_v1', 'module', (mg) => {
    const n = node(mg.graphDef!.node!, (x) => (x.input ?? []).length > 0 && !x.input![0].startsWith('^'), 'a node with inputs');
    n.input![0] = `${n.input![0].split(':')[0]}:7`;
  }, 'ERR_INVALID_GRAPH', /has input '.*:7', but '.*' \(.*\) has 1 output/);
  refused('an attr the op does not have (the rule of Graph.addOperation)', 'mlp_v1', 'load', (mg) => {
    node(mg.graphDef!.node!, (n) => n.op === 'MatMul', 'a MatMul').attr!.transpose_c = { b: true };
  }, 'ERR_INVALID_GRAPH', /has attr 'transpose_c', which MatMul does not have/);
  refused('untouched: mlp_v1 as a hub.Module', 'mlp_v1', 'module', undefined);
  refused('untouched: control_flow_v1', 'control_flow_v1', 'load', undefined);
  refused('untouched: control_flow_tf2', 'control_flow_tf2', 'load', undefined);
});
