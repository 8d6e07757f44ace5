/**
 * Operator rules: the domain is known to the provider, a com.microsoft op has a kernel (for the node's
 * float type), a standard op is not on the provider's restricted list.
 */
import type { NodeRule } from './context.js';
import { computeType, floatTypeName } from '../element-types.js';
import { qualifiedName } from '../qdq.js';

export const domainRule: NodeRule = (node, ctx) => {
  const domain = node.domain === 'ai.onnx' ? '' : node.domain;
  const { profile } = ctx;
  const restricted = profile.restrictedOps[qualifiedName(node)];
  if (restricted) {
    ctx.report(domain === 'com.microsoft' ? 'contrib-op' : 'op-restricted', restricted.severity, node, `${restricted.reason} [${restricted.source}]`);
    return;
  }
  if (domain === 'com.microsoft') { contribRule(node, ctx); return; }
  if (!profile.domains.includes(domain)) {
    ctx.report('domain', 'error', node, `domain '${domain}' has no kernels on ${profile.title}`, null);
  }
};

const contribRule: NodeRule = (node, ctx) => {
  const { profile } = ctx;
  const entry = profile.contribOps?.[node.opType];
  if (!entry) {
    const o = profile.otherContrib;
    ctx.report('contrib-op', o.severity, node, `${o.reason} [${o.source}]`);
    return;
  }
  const t = computeType(node, ctx.types);
  const name = t === undefined ? undefined : floatTypeName(t);
  if (entry.types && name && !entry.types.includes(name)) {
    ctx.report('op-dtype', 'error', node, `${node.opType} has ${entry.types.join('/')} kernels only, not ${name} [${entry.source}]`);
  }
};
