// SPDX-License-Identifier: GPL-2.0
/*
 * edu_l2: the L2 guest's side of vfio_client_qemu_test.  QEMU, running in
 * the test-bed guest, assigns the bed's edu devices to a small Linux guest
 * through vfio-pci; this module drives every edu it finds there the way a
 * driver would and prints one line per check on the console:
 *
 *   edu_l2: BDF CHECK ok|fail [detail]
 *   edu_l2: BDF done failures=N
 *
 * CHECK is id (the ID register), live (liveness: ~value), fact
 * (factorial), dma (to the device and back: the L2 has no IOMMU, so the
 * addresses are guest-physical), intx and msi (the device's raise
 * register, seen by a handler on each kind of interrupt).  Everything goes
 * through the L1's vfio: BAR accesses through QEMU's mmap of the BAR or
 * its read/write handlers, DMA through the type1 mappings of the L2's RAM,
 * interrupts through vfio's INTx and MSI eventfds.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/slab.h>

#define EDU_ID		0x00
#define EDU_LIVE	0x04
#define EDU_FACT	0x08
#define EDU_STATUS	0x20
#define EDU_STATUS_BUSY	0x01
#define EDU_IRQ_STATUS	0x24
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_DMA_START	0x01
#define EDU_DMA_TO_RAM	0x02

/* The device's DMA buffer; stay well short of its last byte (testbed.h). */
#define EDU_DMA_BUF	0x40000
#define EDU_DMA_LEN	1024
/* Nested TCG is slow: give the device seconds. */
#define EDU_WAIT_MS	10000

struct edu {
	struct pci_dev *pdev;
	void __iomem *bar;
	struct completion irq;
	u32 irq_status;
	unsigned int failures;
};

static void edu_check(struct edu *edu, const char *check, bool ok,
		      const char *fmt, ...)
{
	char detail[96] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (!ok)
		edu->failures++;
	pr_info("edu_l2: %s %s %s %s\n", pci_name(edu->pdev), check,
		ok ? "ok" : "fail", detail);
}

static bool edu_wait_clear(struct edu *edu, unsigned int reg, u32 bits)
{
	unsigned long end = jiffies + msecs_to_jiffies(EDU_WAIT_MS);

	while (ioread32(edu->bar + reg) & bits) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}

static irqreturn_t edu_irq(int irq, void *data)
{
	struct edu *edu = data;
	u32 st = ioread32(edu->bar + EDU_IRQ_STATUS);

	if (!st)
		return IRQ_NONE;
	iowrite32(st, edu->bar + EDU_IRQ_ACK);
	edu->irq_status |= st;
	complete(&edu->irq);
	return IRQ_HANDLED;
}

static void edu_check_regs(struct edu *edu)
{
	u32 id, v, fact;

	id = ioread32(edu->bar + EDU_ID);
	edu_check(edu, "id", (id & 0xff) == 0xed, "0x%08x", id);

	v = get_random_u32();
	iowrite32(v, edu->bar + EDU_LIVE);
	id = ioread32(edu->bar + EDU_LIVE);
	edu_check(edu, "live", id == ~v, "0x%08x -> 0x%08x", v, id);

	iowrite32(10, edu->bar + EDU_FACT);
	fact = edu_wait_clear(edu, EDU_STATUS, EDU_STATUS_BUSY) ?
	       ioread32(edu->bar + EDU_FACT) : 0;
	edu_check(edu, "fact", fact == 3628800, "10! = %u", fact);
}

static bool edu_dma(struct edu *edu, dma_addr_t ram, bool to_ram)
{
	iowrite32(lower_32_bits(to_ram ? EDU_DMA_BUF : ram),
		  edu->bar + EDU_DMA_SRC);
	iowrite32(upper_32_bits(to_ram ? EDU_DMA_BUF : ram),
		  edu->bar + EDU_DMA_SRC + 4);
	iowrite32(lower_32_bits(to_ram ? ram : EDU_DMA_BUF),
		  edu->bar + EDU_DMA_DST);
	iowrite32(upper_32_bits(to_ram ? ram : EDU_DMA_BUF),
		  edu->bar + EDU_DMA_DST + 4);
	iowrite32(EDU_DMA_LEN, edu->bar + EDU_DMA_CNT);
	iowrite32(EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0),
		  edu->bar + EDU_DMA_CMD);
	return edu_wait_clear(edu, EDU_DMA_CMD, EDU_DMA_START);
}

static void edu_check_dma(struct edu *edu)
{
	dma_addr_t ram;
	u8 *buf;
	bool ok;

	if (dma_set_mask_and_coherent(&edu->pdev->dev, DMA_BIT_MASK(28))) {
		edu_check(edu, "dma", false, "no 28-bit DMA");
		return;
	}
	buf = dma_alloc_coherent(&edu->pdev->dev, PAGE_SIZE, &ram, GFP_KERNEL);
	if (!buf) {
		edu_check(edu, "dma", false, "no buffer");
		return;
	}
	get_random_bytes(buf, EDU_DMA_LEN);
	memset(buf + EDU_DMA_LEN, 0, EDU_DMA_LEN);
	ok = edu_dma(edu, ram, false) &&
	     edu_dma(edu, ram + EDU_DMA_LEN, true) &&
	     !memcmp(buf, buf + EDU_DMA_LEN, EDU_DMA_LEN);
	edu_check(edu, "dma", ok, "%u bytes at 0x%llx and back", EDU_DMA_LEN,
		  (unsigned long long)ram);
	dma_free_coherent(&edu->pdev->dev, PAGE_SIZE, buf, ram);
}

/* One interrupt of kind @type (PCI_IRQ_INTX, PCI_IRQ_MSI), raised by hand. */
static void edu_check_irq(struct edu *edu, const char *name, unsigned int type)
{
	u32 val = 0x100000 | (get_random_u32() & 0xffff);
	unsigned long left;
	int irq, ret;

	ret = pci_alloc_irq_vectors(edu->pdev, 1, 1, type);
	if (ret < 0) {
		edu_check(edu, name, false, "no vector: %d", ret);
		return;
	}
	irq = pci_irq_vector(edu->pdev, 0);
	reinit_completion(&edu->irq);
	edu->irq_status = 0;
	ret = request_irq(irq, edu_irq, IRQF_SHARED, "edu_l2", edu);
	if (ret) {
		edu_check(edu, name, false, "request_irq: %d", ret);
		goto out;
	}
	iowrite32(val, edu->bar + EDU_IRQ_RAISE);
	left = wait_for_completion_timeout(&edu->irq,
					   msecs_to_jiffies(EDU_WAIT_MS));
	edu_check(edu, name, left && edu->irq_status == val,
		  "irq %d status 0x%x raised 0x%x", irq, edu->irq_status, val);
	free_irq(irq, edu);
out:
	pci_free_irq_vectors(edu->pdev);
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu *edu;
	int ret;

	edu = devm_kzalloc(&pdev->dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	init_completion(&edu->irq);
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	edu->bar = pcim_iomap(pdev, 0, 0);
	if (!edu->bar)
		return -ENOMEM;
	pci_set_master(pdev);

	edu_check_regs(edu);
	edu_check_dma(edu);
	edu_check_irq(edu, "intx", PCI_IRQ_INTX);
	edu_check_irq(edu, "msi", PCI_IRQ_MSI);
	pr_info("edu_l2: %s done failures=%u\n", pci_name(pdev),
		edu->failures);
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	pr_info("edu_l2: %s removed\n", pci_name(pdev));
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "edu_l2",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};
module_pci_driver(edu_driver);

MODULE_DESCRIPTION("vfio selftests: the QEMU client's L2 edu checks");
MODULE_LICENSE("GPL");
