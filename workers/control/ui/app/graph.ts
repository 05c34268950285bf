import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from "cytoscape";
import dagre from "cytoscape-dagre";
import { COLORS, health, pct, rps } from "./format.ts";

cytoscape.use(dagre);

export type GraphNode = {
  id: string;
  kind: string;
  versions?: string[];
  rps?: number;
  successRate?: number | null;
  requests?: number;
};
export type GraphEdge = {
  source: string;
  target: string;
  rps?: number;
  successRate?: number | null;
  p99?: number | null;
  requests?: number;
};
export type Graph = { nodes: GraphNode[]; edges: GraphEdge[] };

const NODE_FONT_PX = 14;
const EDGE_FONT_PX = 13;
const FONT = `${NODE_FONT_PX}px Helvetica, Arial, sans-serif`;
const PAD_X = 14;
const LINE = 18;
/** Edge labels are shown only on graphs this small (or a focused neighbourhood), and only when none collides. */
const EDGE_LABELS_UP_TO = 12;
/** Up to this many nodes both orientations are laid out and the one that draws bigger kept (dagre takes ~1 ms a node). */
const ORIENT_UP_TO = 40;
/** A fitted small graph is not blown up past this. */
const FIT_MAX_ZOOM = 1.6;
const FIT_PADDING = 24;

let measurer: CanvasRenderingContext2D | null = null;
const textWidth = (text: string) => {
  measurer ??= document.createElement("canvas").getContext("2d")!;
  measurer.font = FONT;
  return measurer.measureText(text).width;
};

/** A node's label: its name and what it serves; the node box is sized to hold it, so labels sit inside nodes. */
function nodeLabel(n: GraphNode): string {
  if (n.kind === "external") return "internet";
  const traffic = n.requests ? `${rps(n.rps)} rps · ${pct(n.successRate)}` : "no traffic";
  return `${n.id}\n${n.kind === "external-service" ? "external · " : ""}${traffic}`;
}

const overlap = (a: cytoscape.BoundingBox12, b: cytoscape.BoundingBox12) =>
  a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

/**
 * The service graph, Kiali-style: Cytoscape with a dagre layout (left to right, from the internet
 * to the gateway to services), pan and zoom, search, and focus on one service's neighbours.
 * The layout runs only when the set of nodes and edges changes; a refresh updates labels in place.
 */
export class GraphView {
  readonly cy: Core;
  private structure = "";
  private focused: string | null = null;
  private query = "";
  /** The last update that changed the graph's shape: layout time, and time until its frame was painted (ms; read by the 100-service test). */
  timings = { layoutMs: 0, drawMs: 0 };

  constructor(
    container: HTMLElement,
    private readonly onFocus: (id: string | null) => void,
  ) {
    this.cy = cytoscape({
      container,
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      autoungrabify: true,
      style: [
        {
          selector: "node",
          style: {
            shape: "round-rectangle",
            width: "data(w)",
            height: "data(h)",
            "background-color": "#1d2638",
            "border-width": 2,
            "border-color": "data(color)",
            label: "data(label)",
            color: "#eef2fa",
            "font-size": NODE_FONT_PX,
            "font-family": "Helvetica, Arial, sans-serif",
            "text-wrap": "wrap",
            "text-valign": "center",
            "text-halign": "center",
            "line-height": LINE / NODE_FONT_PX,
            "min-zoomed-font-size": 6,
          },
        },
        {
          selector: "node[kind = 'external'], node[kind = 'external-service']",
          style: { shape: "ellipse", "background-color": "#222b3f" },
        },
        { selector: "node[kind = 'gateway']", style: { shape: "hexagon" } },
        { selector: "node.idle", style: { "border-style": "dashed", color: "#b4bfd4" } },
        {
          selector: "edge",
          style: {
            width: "data(width)",
            "line-color": "data(color)",
            "target-arrow-color": "data(color)",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
            "arrow-scale": 0.8,
          },
        },
        {
          selector: "edge.labelled",
          style: {
            label: "data(label)",
            "font-size": EDGE_FONT_PX,
            "font-family": "Helvetica, Arial, sans-serif",
            color: "#c9d3e6",
            "text-background-color": "#131a28",
            "text-background-opacity": 1,
            "text-background-padding": "2px",
            "text-rotation": "autorotate",
          },
        },
        // Top to bottom, edges run (nearly) vertically: their labels stay horizontal.
        { selector: "edge.labelled.vertical", style: { "text-rotation": "none" } },
        { selector: ".faded", style: { opacity: 0.15 } },
        { selector: "node.match", style: { "border-width": 4, "border-color": COLORS.info } },
        { selector: ".hidden", style: { display: "none" } },
      ],
    });
    this.cy.on("tap", "node", (e) => this.focus((e.target as NodeSingular).id()));
    this.cy.on("tap", (e) => {
      if (e.target === this.cy) this.focus(null);
    });
  }

  update(graph: Graph): void {
    const started = performance.now();
    const ids = new Set(graph.nodes.map((n) => n.id));
    const edges = graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
    const structure = JSON.stringify([
      graph.nodes.map((n) => n.id).sort(),
      edges.map((e) => `${e.source}>${e.target}`).sort(),
    ]);
    const elements: ElementDefinition[] = [
      ...graph.nodes.map((n) => {
        const label = nodeLabel(n);
        const lines = label.split("\n");
        return {
          group: "nodes" as const,
          data: {
            id: n.id,
            kind: n.kind,
            label,
            color: COLORS[health(n.successRate)],
            w: Math.ceil(Math.max(...lines.map(textWidth)) + 2 * PAD_X),
            h: lines.length * LINE + 14,
          },
          classes: n.requests || n.kind === "external" ? "" : "idle",
        };
      }),
      ...edges.map((e) => ({
        group: "edges" as const,
        data: {
          id: `${e.source}>${e.target}`,
          source: e.source,
          target: e.target,
          label: `${rps(e.rps)} rps · ${pct(e.successRate)}`,
          color: COLORS[health(e.successRate)],
          width: Math.min(6, 1.5 + Math.log10(1 + (e.rps ?? 0)) * 2),
        },
      })),
    ];
    if (structure !== this.structure) {
      this.structure = structure;
      this.cy.elements().remove();
      this.cy.add(elements);
      this.applyView(true);
      this.timings.layoutMs = Math.round(performance.now() - started);
      this.cy.one("render", () =>
        requestAnimationFrame(() => (this.timings.drawMs = Math.round(performance.now() - started))),
      );
    } else {
      this.cy.batch(() => {
        for (const el of elements) {
          const existing = this.cy.getElementById(el.data.id!);
          existing.data(el.data);
          if (el.group === "nodes") existing.toggleClass("idle", el.classes === "idle");
        }
      });
      this.placeEdgeLabels();
    }
  }

  /** Search: matching services are outlined and everything else faded; one match is also centred. */
  search(query: string): void {
    this.query = query.trim().toLowerCase();
    this.applyView(false);
  }

  focus(id: string | null): void {
    if (id !== null && this.cy.getElementById(id).empty()) return;
    this.focused = id;
    this.applyView(true);
    this.onFocus(id);
  }

  get focusedId(): string | null {
    return this.focused;
  }

  /** Shows the focused neighbourhood (or everything), re-runs the layout when asked, then applies the search. */
  private applyView(relayout: boolean): void {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements().removeClass("hidden faded match");
      if (this.focused) {
        const keep = cy.getElementById(this.focused).closedNeighborhood();
        cy.elements().not(keep).addClass("hidden");
      }
      if (this.query) {
        const matches = cy.nodes().filter((n) => n.id().toLowerCase().includes(this.query));
        matches.addClass("match");
        cy.elements().not(matches).not(matches.connectedEdges()).addClass("faded");
      }
    });
    const visible = cy.elements().not(".hidden");
    if (relayout && visible.length) this.layout(visible);
    this.placeEdgeLabels();
    const matches = cy.nodes(".match");
    if (this.query && matches.length) cy.fit(matches.closedNeighborhood(), 40);
    else if (relayout && visible.length) this.fit();
  }

  /**
   * dagre, left to right (Kiali's way) or top to bottom, whichever the panel shows bigger: a chain
   * of five services left to right fills a wide panel's width and a sixth of its height, its
   * labels shrunk to ~8 px; top to bottom it fills the height at full size.
   */
  private layout(visible: cytoscape.Collection): void {
    const small = visible.edges().length <= EDGE_LABELS_UP_TO;
    const run = (rankDir: "LR" | "TB") => {
      visible
        .layout({
          name: "dagre",
          rankDir,
          // Room between ranks (and, top to bottom, between siblings) for the edges' labels on small graphs.
          nodeSep: rankDir === "TB" && small ? 150 : 18,
          rankSep: rankDir === "LR" ? (small ? 110 : 70) : small ? 64 : 40,
          edgeSep: 12,
          nodeDimensionsIncludeLabels: true,
          fit: false,
          animate: false,
        } as cytoscape.LayoutOptions)
        .run();
      const box = visible.boundingBox({});
      return Math.min(
        (this.cy.width() - 2 * FIT_PADDING) / Math.max(1, box.w),
        (this.cy.height() - 2 * FIT_PADDING) / Math.max(1, box.h),
      );
    };
    let vertical = false;
    if (visible.nodes().length > ORIENT_UP_TO) run("LR");
    else if (run("TB") > run("LR")) {
      run("TB"); // laid out again: the last run is what is shown
      vertical = true;
    }
    visible.edges().toggleClass("vertical", vertical);
  }

  /** Edge labels where they fit: on small graphs only, and none if any would cover a node or another label. */
  private placeEdgeLabels(): void {
    const cy = this.cy;
    const edges = cy.edges().not(".hidden");
    edges.addClass("labelled");
    if (edges.length > EDGE_LABELS_UP_TO) return void edges.removeClass("labelled");
    const boxes = [
      ...cy
        .nodes()
        .not(".hidden")
        .map((n) => n.boundingBox({ includeLabels: true, includeOverlays: false })),
      ...edges.map((e) =>
        e.boundingBox({
          includeEdges: false,
          includeLabels: true,
          includeOverlays: false,
        } as cytoscape.BoundingBoxOptions),
      ),
    ];
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++)
        if (overlap(boxes[i], boxes[j])) return void edges.removeClass("labelled");
  }

  /** Fits what is shown to the panel, without blowing a tiny graph up past FIT_MAX_ZOOM. */
  fit(): void {
    const visible = this.cy.elements().not(".hidden");
    this.cy.fit(visible, FIT_PADDING);
    if (this.cy.zoom() > FIT_MAX_ZOOM) {
      this.cy.zoom(FIT_MAX_ZOOM);
      this.cy.center(visible);
    }
  }
}
