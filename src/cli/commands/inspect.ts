/** `llmopt inspect`: what a model is made of (placeholder until the analysis module lands). */
import type { Command } from 'commander';

export function registerInspect(program: Command): void {
  void program;
}
