/** `llmopt passes`: every pass with its description and options, and the presets. */
import type { Command } from 'commander';
import { uiFor } from '../common.js';
import { listPasses, listPresets } from '../../pipeline/registry.js';
import { describeOptions } from '../../pipeline/options-doc.js';
import type { Report, Section } from '../../report/report.js';

export function registerPasses(program: Command): void {
  program
    .command('passes')
    .description('list every pass with its options, and the presets')
    .addHelpText('after', `
Example:
  $ llmopt passes --json`)
    .action((_flags: unknown, cmd: Command) => {
      const ui = uiFor(cmd);
      const passes = listPasses().map((p) => ({ name: p.name, description: p.description, options: describeOptions(p.options) }));
      const presets = listPresets().map(([name, p]) => ({ name, description: p.description, steps: p.steps.map((s) => s.pass) }));
      const sections: Section[] = [
        { title: 'Passes', table: { columns: ['pass', 'description'], rows: passes.map((p) => [p.name, p.description]) } },
        ...passes.filter((p) => p.options.length).map((p) => ({
          title: `Options of ${p.name}`,
          table: { columns: ['option', 'type', 'default', 'description'], rows: p.options.map((o) => [o.name, o.type, o.default, o.description]) },
        })),
        { title: 'Presets (use as --preset NAME or "preset:NAME" in a config)', table: { columns: ['preset', 'steps', 'description'], rows: presets.map((p) => [p.name, p.steps.join(', '), p.description]) } },
      ];
      const report: Report = { title: 'llmopt passes', sections, warnings: [], data: { passes, presets } };
      ui.report(report);
    });
}
