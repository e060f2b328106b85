// The JS recipe table (js/recipe.mjs) against the core's recipe schema
// (crate/src/passes): every enum in JS lists exactly the core's variants, and
// every field JS checks is one the core knows. So the JS checks never reject a
// recipe the core accepts; fields the core adds later pass through JS untouched.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, requireBuild } from './helpers.mjs';

let core;
let model;
let recipe;

before(async () => {
  requireBuild();
  core = await import('../../js/node.mjs'); // the synchronous API: no JS recipe checks in the way
  recipe = await import('../../js/recipe.mjs');
  model = core.loadModel(readFileSync(path.join(FIXTURES, 'tiny_mlp.tflite')));
});

/** The minimal valid content of each section (its required fields). */
const BASE = { quantize: { mode: 'dynamic' }, prune: { sparsity: 0.5 }, cluster: { clusters: 4 } };

/** The core's error message for a recipe (it must fail). */
function coreError(r) {
  try {
    model.optimize(JSON.stringify(r));
  } catch (e) {
    return e.message;
  }
  assert.fail(`the core accepted ${JSON.stringify(r)}`);
}

const listed = (msg) => [...msg.replace(/^.*expected (one of )?/s, '').matchAll(/`([^`]*)`/g)].map((m) => m[1]);

/** Put `value` at dotted `p` inside a copy of the minimal recipe for its section. */
function at(p, value) {
  const keys = p.split('.');
  const r = { [keys[0]]: structuredClone(BASE[keys[0]] ?? {}) };
  let o = r;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = value;
  return r;
}

test('every JS enum equals the core variants', () => {
  const enums = recipe.recipeEnums();
  assert.ok(Object.keys(enums).length >= 6);
  for (const [p, values] of Object.entries(enums)) {
    const msg = coreError(at(p, 'no-such-value'));
    assert.match(msg, /unknown variant `no-such-value`/, p);
    assert.deepEqual([...values].sort(), listed(msg).sort(), `${p}: JS and core disagree`);
  }
});

test('every field JS checks is a field of the core', () => {
  const sections = (spec, prefix = '') =>
    Object.entries(spec.fields).flatMap(([k, f]) => (f.kind === 'object' ? [[prefix ? `${prefix}.${k}` : k, f], ...sections(f, prefix ? `${prefix}.${k}` : k)] : []));
  const top = listed(coreError({ noSuchField: 1 }));
  for (const k of Object.keys(recipe.RECIPE_SCHEMA.fields)) assert.ok(top.includes(k), `recipe.${k} is not a core field (core: ${top.join(', ')})`);
  for (const [p, spec] of sections(recipe.RECIPE_SCHEMA)) {
    const coreFields = listed(coreError(at(`${p}.noSuchField`, 1)));
    for (const k of Object.keys(spec.fields)) assert.ok(coreFields.includes(k), `${p}.${k} is not a core field (core: ${coreFields.join(', ')})`);
    for (const req of spec.required) {
      const r = at(`${p}.${req}`, undefined);
      assert.match(coreError(JSON.parse(JSON.stringify(r))), new RegExp(`missing field \`${req}\``), `${p}.${req} is required by the core too`);
    }
  }
});

test('recipes the JS checks accept, the core parses (types agree)', () => {
  const samples = {
    string: 'x', boolean: true, number: 0.25, uint: 3, strings: ['FULLY_CONNECTED'],
  };
  const leaves = (spec, prefix = '') =>
    Object.entries(spec.fields).flatMap(([k, f]) => {
      const p = prefix ? `${prefix}.${k}` : k;
      if (f.kind === 'object') return leaves(f, p);
      return [[p, f]];
    });
  for (const [p, f] of leaves(recipe.RECIPE_SCHEMA)) {
    if (p === 'name') continue;
    let value = f.kind === 'enum' ? f.values[0] : f.kind === 'record' ? { 'fc*': samples[f.value.kind] } : samples[f.kind];
    if (p === 'prune.pattern') value = 'unstructured';
    const r = at(p, value);
    recipe.validateRecipe(r);
    try {
      model.optimize(JSON.stringify(r));
    } catch (e) {
      // Range checks of the core may refuse the sample value; a type error from serde may not.
      assert.doesNotMatch(e.message, /invalid type|unknown variant|unknown field|missing field/, `${p}: ${e.message}`);
    }
  }
});
