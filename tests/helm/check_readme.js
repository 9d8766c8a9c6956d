'use strict';
/*
 * check_readme.js VALUES.yaml README.md - every value of the chart is
 * documented: each key path of values.yaml (down to scalars, lists and
 * empty maps; Kubernetes objects passed through whole, such as resources
 * or probes, count as one value) must appear in the README as `path`.
 * Keys of the IMAP mailbox entries are checked against the mailbox fields
 * of values.schema.json. Written for Node 18 and later.
 */
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const valuesPath = process.argv[2];
const readmePath = process.argv[3];
if (!valuesPath || !readmePath) {
  console.error('usage: node check_readme.js VALUES.yaml README.md');
  process.exit(2);
}
const values = YAML.parse(fs.readFileSync(valuesPath, 'utf8'));
const readme = fs.readFileSync(readmePath, 'utf8');

// Objects handed to Kubernetes as they are: documented as one value.
const WHOLE = /(^|\.)(podSecurityContext|securityContext|resources|livenessProbe|readinessProbe|affinity|behavior|selector|annotations|commonLabels|podLabels|podAnnotations|nodeSelector|extra)$/;

const paths = [];
function walk(prefix, v) {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && !WHOLE.test(prefix)) {
    for (const k of Object.keys(v)) walk(prefix ? prefix + '.' + k : k, v[k]);
    return;
  }
  paths.push(prefix);
}
walk('', values);

const schema = JSON.parse(fs.readFileSync(path.join(path.dirname(valuesPath), 'values.schema.json'), 'utf8'));
const mailbox = schema.properties.imap.properties.mailboxes.items.properties;
for (const k of Object.keys(mailbox)) paths.push('imap.mailboxes[].' + k);

const missing = paths.filter(function (p) { return readme.indexOf('`' + p + '`') < 0; });
if (missing.length) {
  for (const p of missing) console.log('  FAIL value not documented in ' + path.basename(readmePath) + ': `' + p + '`');
  console.log('check_readme: ' + missing.length + ' of ' + paths.length + ' values undocumented');
  process.exit(1);
}
console.log('check_readme: all ' + paths.length + ' values documented');
