/**
 * How a unit's grid is laid out in a new plan: every product category x region x quarter, in that order, so
 * that a line's position is (category, then region, then quarter) from 0. The demo seed (seed.ts) and plan
 * creation (planAdmin.ts) lay plans out alike.
 */
export const PRODUCT_CATEGORIES = ['Laptops', 'Desktops', 'Servers', 'Storage', 'Networking', 'Software'] as const;
export const REGIONS = ['North America', 'Europe', 'Asia Pacific', 'Latin America', 'Middle East & Africa'] as const;
export const QUARTERS = ['Q1', 'Q2', 'Q3', 'Q4'] as const;

/** The position of a line in its unit's grid, from the indexes of its category, region and quarter. */
export function linePosition(category: number, region: number, quarter: number): number {
  return (category * REGIONS.length + region) * QUARTERS.length + quarter;
}

/** Every line of a unit's grid, in order. */
export function unitGridLayout(): { productCategory: string; region: string; quarter: string; position: number }[] {
  const lines: { productCategory: string; region: string; quarter: string; position: number }[] = [];
  PRODUCT_CATEGORIES.forEach((productCategory, c) =>
    REGIONS.forEach((region, r) => QUARTERS.forEach((quarter, q) => lines.push({ productCategory, region, quarter, position: linePosition(c, r, q) }))),
  );
  return lines;
}
