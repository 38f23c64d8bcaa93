/** The "Shared Sockets" view in Run and Debug: sockets → descriptors per process, registrations, pending handoffs, findings; it follows the current stop. */

import * as vscode from 'vscode';
import type { OverviewNode } from '../adapter/overview';
import { DEBUG_TYPE } from './configuration';

export class SharedSocketsView implements vscode.TreeDataProvider<OverviewNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private nodes: OverviewNode[] = [];

  async refresh(session: vscode.DebugSession | undefined = vscode.debug.activeDebugSession): Promise<void> {
    if (!session || session.type !== DEBUG_TYPE) {
      this.nodes = [];
    } else {
      try {
        const body = (await session.customRequest('sharedSockets')) as { nodes: OverviewNode[] };
        this.nodes = body.nodes;
      } catch {
        this.nodes = [];
      }
    }
    this.changed.fire();
  }

  clear(): void {
    this.nodes = [];
    this.changed.fire();
  }

  getTreeItem(node: OverviewNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, node.children?.length ? (node.label === 'Sockets' || node.label === 'Findings' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed) : vscode.TreeItemCollapsibleState.None);
    item.description = node.description;
    const text = node.description ? `${node.label}: ${node.description}` : node.label;
    item.tooltip = node.seq === undefined ? text : `${text}\n\nChoose it to move the replay to event ${node.seq}.`;
    if (node.severity) item.iconPath = new vscode.ThemeIcon(node.severity === 'error' ? 'error' : node.severity === 'warning' ? 'warning' : 'info');
    // The adapter gives each entry the event at which it exists (overview.ts), and a replay moves there.
    if (node.seq !== undefined) item.command = { command: 'sockshare.gotoEvent', title: 'Go to event', arguments: [node.seq] };
    return item;
  }

  getChildren(node?: OverviewNode): OverviewNode[] {
    return node ? (node.children ?? []) : this.nodes;
  }
}
