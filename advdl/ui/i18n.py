"""Every user-facing string, in simplified Chinese and English, behind one function ``t``.

The language lives in ``st.session_state["lang"]`` (set from the sidebar and the URL by
``app.py``). A key that is missing in either language is a bug; ``tests/test_i18n.py`` checks
the table and that every key used in the code exists.
"""

from __future__ import annotations

import streamlit as st

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_NAMES = {"zh": "中文", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    # --- shell
    "app.title": {"zh": "深度学习高级主题实验室", "en": "Advanced Deep Learning Lab"},
    "app.language": {"zh": "语言 / Language", "en": "Language / 语言"},
    "app.present": {"zh": "演示模式（投影）", "en": "Presentation mode (projector)"},
    "app.present_help": {"zh": "放大文字和图像，隐藏笔记和次要控件。", "en": "Larger type and images; notes and secondary controls hidden."},
    "nav.home": {"zh": "首页", "en": "Home"},
    "nav.gan": {"zh": "GAN 潜空间", "en": "GAN latent explorer"},
    "nav.ae": {"zh": "自动编码器", "en": "Autoencoders"},
    "nav.caps": {"zh": "胶囊网络", "en": "Capsule viewer"},
    "home.intro": {
        "zh": "本实验室配合课程“高级主题”一章：生成对抗网络、自动编码器与胶囊网络，全部基于 MNIST 手写数字。",
        "en": "This lab accompanies the course's advanced chapter: generative adversarial networks, autoencoders and capsule networks, all on MNIST digits.",
    },
    "home.labs": {"zh": "三个实验", "en": "The three labs"},
    "home.gan_blurb": {"zh": "拖动潜变量，观察 DCGAN 生成的数字如何变化。", "en": "Move the latent variables and watch a DCGAN digit change."},
    "home.ae_blurb": {"zh": "手写一个数字，加噪声，比较四种自动编码器的重建。", "en": "Draw a digit, add noise, compare four autoencoders' reconstructions."},
    "home.caps_blurb": {"zh": "胶囊网络读出你的数字，扰动 16 维胶囊向量看重建变化。", "en": "A CapsNet reads your digit; perturb its 16-D capsule and watch the reconstruction."},
    "home.course_map": {"zh": "课程地图", "en": "Course map"},
    "home.advanced": {"zh": "高级主题（本实验室）", "en": "Advanced topics (this lab)"},
    "home.glossary": {"zh": "术语表", "en": "Glossary"},
    "home.models": {"zh": "已训练的模型", "en": "Trained models"},
    "home.params": {"zh": "参数量", "en": "Parameters"},
    "home.epochs": {"zh": "训练轮数", "en": "Epochs"},
    "home.train_time": {"zh": "训练时间", "en": "Training time"},
    "home.device": {"zh": "设备", "en": "Device"},
    "home.metrics": {"zh": "测试指标", "en": "Test metrics"},
    "card.test_error": {"zh": "测试错误率", "en": "Test error"},
    "card.test_bce": {"zh": "测试 BCE（每像素）", "en": "Test BCE per pixel"},
    "card.denoise_gain": {"zh": "σ=0.5 时比卷积自编码器高出的 PSNR", "en": "PSNR gain over the conv AE at σ = 0.5"},
    "card.confident": {"zh": "CNN 置信度 ≥ 0.9 的样本比例", "en": "Samples the CNN labels with confidence ≥ 0.9"},
    "card.frechet": {"zh": "Fréchet 距离 / 训练-测试下限", "en": "Fréchet distance / train–test floor"},
    "card.anchor": {"zh": "参考值", "en": "reference"},
    "home.no_metrics": {"zh": "尚未评估（运行 scripts/evaluate.py）", "en": "Not evaluated yet (run scripts/evaluate.py)"},
    # --- digit input
    "input.source": {"zh": "输入方式", "en": "Input"},
    "input.draw": {"zh": "手写", "en": "Draw"},
    "input.sample": {"zh": "样例数字", "en": "Sample digit"},
    "input.upload": {"zh": "上传图片", "en": "Upload"},
    "input.shared": {"zh": "使用另一个实验中的数字", "en": "Digit from another lab"},
    "input.shared_from": {"zh": "来自“{lab}”的数字", "en": "The digit from “{lab}”"},
    "input.class": {"zh": "数字类别", "en": "Digit class"},
    "input.index": {"zh": "第几个样例", "en": "Sample number"},
    "input.upload_label": {"zh": "上传 PNG 或 JPEG 图片", "en": "Upload a PNG or JPEG image"},
    "input.draw_hint": {"zh": "在黑色画布上用鼠标写一个数字（工具栏可撤销、清空）。", "en": "Write a digit on the black canvas with the mouse (undo and clear in the toolbar)."},
    "input.seen": {"zh": "模型看到的 28×28 图像", "en": "The 28×28 image the models see"},
    "input.empty": {"zh": "画布是空的：请先写一个数字。", "en": "The canvas is empty: write a digit first."},
    "common.queued": {"zh": "服务器正忙，正在排队…", "en": "The server is busy: queued…"},
    "common.busy": {"zh": "服务器正忙，请稍后再试。", "en": "The server is busy: try again in a moment."},
    "input.no_digit": {"zh": "这张图片里找不到数字（空白或对比度太低）。", "en": "No digit found in this image (it is blank or has too little contrast)."},
    "input.overfilled": {"zh": "墨迹覆盖了 {pct}% 的画面，这不像一个数字：请清空后只写一个数字。", "en": "Ink covers {pct}% of the picture, which is not a digit: clear it and write one digit."},
    "input.no_upload": {"zh": "请选择一张图片。", "en": "Choose an image."},
    "image_too_large": {"zh": "图片太大，无法安全读取：{detail}", "en": "The image is too large to read safely: {detail}"},
    "image_unreadable": {"zh": "无法读取该文件：{detail}。请上传 PNG 或 JPEG 图片。", "en": "This file cannot be read: {detail}. Upload a PNG or JPEG image."},
    "digit_error": {"zh": "无法处理该图片：{detail}", "en": "This image cannot be used: {detail}"},
    # --- checkpoints
    "checkpoint_missing": {"zh": "模型 {name} 的检查点不存在。训练命令：`{cmd}`", "en": "The checkpoint of model {name} is missing. Train it with: `{cmd}`"},
    "checkpoint_corrupt": {"zh": "模型 {name} 的检查点已损坏（{detail}）。重新训练：`{cmd}`", "en": "The checkpoint of model {name} is damaged ({detail}). Retrain it with: `{cmd}`"},
    "checkpoint_mismatch": {"zh": "模型 {name} 的检查点与模型结构不符（{detail}）。重新训练：`{cmd}`", "en": "The checkpoint of model {name} does not match its architecture ({detail}). Retrain it with: `{cmd}`"},
    "checkpoint_error": {"zh": "模型 {name} 无法加载（{detail}）。", "en": "Model {name} cannot be loaded ({detail})."},
    # --- GAN lab
    "gan.title": {"zh": "GAN 潜空间探索", "en": "GAN latent explorer"},
    "gan.seed": {"zh": "随机种子", "en": "Seed"},
    "gan.new": {"zh": "换一个数字", "en": "New digit"},
    "gan.direction": {"zh": "方向 {i}", "en": "Direction {i}"},
    "gan.directions_help": {
        "zh": "每个滑块沿生成器最重要的一个潜空间方向移动（由生成器第一层权重求得，SeFa），拖动时数字随之变化。",
        "en": "Each slider moves along one of the generator's most important latent directions (found from its first layer's weights, SeFa); the digit changes as you drag.",
    },
    "gan.realness_label": {"zh": "判别器：真实的概率", "en": "Discriminator: probability real"},
    "gan.cnn_label_short": {"zh": "CNN 的判断（置信度）", "en": "CNN's label (confidence)"},
    "gan.generated": {"zh": "生成的数字", "en": "Generated digit"},
    "gan.raw": {"zh": "全部 100 个潜变量维度", "en": "All 100 latent dimensions"},
    "gan.raw_help": {"zh": "当前潜变量 z（10×10 表格，按行排列）。修改数值后点击“应用”。", "en": "The current latent z (a 10 × 10 table, row by row). Edit values, then press Apply."},
    "gan.raw_apply": {"zh": "应用", "en": "Apply"},
    "gan.morph": {"zh": "从一个数字变到另一个数字", "en": "Morph one digit into another"},
    "gan.morph_by": {"zh": "起点与终点", "en": "Start and end"},
    "gan.by_class": {"zh": "按类别", "en": "By class"},
    "gan.by_seed": {"zh": "按种子", "en": "By seed"},
    "gan.from": {"zh": "起始类别", "en": "From class"},
    "gan.to": {"zh": "目标类别", "en": "To class"},
    "gan.from_seed": {"zh": "起始种子", "en": "From seed"},
    "gan.to_seed": {"zh": "目标种子", "en": "To seed"},
    "gan.interp": {"zh": "插值方式", "en": "Interpolation"},
    "gan.slerp": {"zh": "球面插值", "en": "Spherical (slerp)"},
    "gan.lerp": {"zh": "线性插值", "en": "Linear (lerp)"},
    "gan.bank_empty": {"zh": "没有找到该类别的高置信度潜变量。", "en": "No confident latent was found for that class."},
    "gan.strip": {"zh": "插值路径上的 17 帧", "en": "17 frames along the path"},
    "gan.position": {"zh": "路径位置", "en": "Position on the path"},
    "gan.gif": {"zh": "下载动图（GIF）", "en": "Download the morph (GIF)"},
    "gan.morph_probs": {"zh": "沿路径 CNN 的类别概率", "en": "The CNN's class probabilities along the path"},
    "gan.invert": {"zh": "找到一幅手写数字的潜变量", "en": "Find the latent of a drawing"},
    "gan.invert_help": {"zh": "对 z 做梯度下降，使生成图像尽量接近你的数字：从 {pool} 个随机 z 中图像最接近的 {starts} 个同时出发，取最好的一个。", "en": "Gradient descent on z makes the generated image as close to your digit as it can: it starts at once from the {starts} of {pool} random latents whose images are nearest to it, and keeps the best."},
    "gan.invert_go": {"zh": "寻找潜变量", "en": "Find the latent"},
    "gan.inverting": {"zh": "正在优化 z…", "en": "Optimizing z…"},
    "gan.target": {"zh": "你的数字", "en": "Your digit"},
    "gan.found": {"zh": "生成器最接近的图像（均方误差 {mse:.4f}）", "en": "The generator's closest image (MSE {mse:.4f})"},
    "gan.use_latent": {"zh": "载入到滑块", "en": "Load into the sliders"},
    "gan.training": {"zh": "训练过程：固定噪声的样本", "en": "Training: samples from fixed noise"},
    "gan.epoch": {"zh": "训练轮次", "en": "Epoch"},
    "gan.losses": {"zh": "判别器与生成器的损失", "en": "Discriminator and generator losses"},
    "gan.notes_title": {"zh": "课程笔记：什么是 GAN", "en": "Course notes: what a GAN is"},
    "gan.notes": {
        "zh": "GAN 由**生成器 G** 与**判别器 D** 组成：G 把噪声变成图片，D 判断图片的真伪（二分类，交叉熵损失）。"
        "训练交替进行：先固定 G 训练 D 区分真假样本，再固定 D 训练 G，使生成样本接近真实分布。"
        "DCGAN（2015）：D 去掉池化改用步长卷积，G 用反卷积；D、G 都加 BN；去掉全连接隐藏层；D 用 LeakyReLU，G 用 ReLU、输出层用 tanh。",
        "en": "A GAN has a **generator G** and a **discriminator D**: G turns noise into an image, D tells real from fake (a binary classifier with cross-entropy). "
        "Training alternates: D learns to separate real and fake samples while G is fixed, then G learns, through a fixed D, to make samples closer to the real distribution. "
        "DCGAN (2015): strided convolutions instead of pooling in D, transposed convolutions in G; BatchNorm in both; no hidden fully connected layers; LeakyReLU in D, ReLU in G with tanh at the output.",
    },
    # --- autoencoder lab
    "ae.title": {"zh": "自动编码器实验", "en": "Autoencoder playground"},
    "ae.noise": {"zh": "噪声类型", "en": "Noise"},
    "ae.noise.gaussian": {"zh": "高斯噪声", "en": "Gaussian"},
    "ae.noise.salt_pepper": {"zh": "椒盐噪声", "en": "Salt and pepper"},
    "ae.noise.occlusion": {"zh": "遮挡", "en": "Occlusion"},
    "ae.strength": {"zh": "噪声强度", "en": "Strength"},
    "ae.noise_seed": {"zh": "噪声种子", "en": "Noise seed"},
    "ae.noisy": {"zh": "加噪后的输入", "en": "Noisy input"},
    "ae.clean_input": {"zh": "输入干净的数字（不加噪声）", "en": "Feed the clean digit (no noise)"},
    "ae.recons": {"zh": "四种自动编码器的重建", "en": "The four autoencoders' reconstructions"},
    "ae.best": {"zh": "最佳", "en": "best"},
    "ae.clean_shown": {"zh": "干净的输入", "en": "Clean input"},
    "ae.codes": {"zh": "编码", "en": "Codes"},
    "ae.code_of": {"zh": "{name}的 32 维编码", "en": "{name}: 32-D code"},
    "ae.conv_code": {"zh": "卷积自编码器的 7×7×32 编码（32 个特征图）", "en": "Convolutional autoencoder: 7×7×32 code (32 feature maps)"},
    "ae.map": {"zh": "潜空间地图：测试集编码的二维投影（PCA）", "en": "Latent map: test-set codes projected to 2-D (PCA)"},
    "ae.you": {"zh": "你的输入", "en": "Your input"},
    "ae.picked": {"zh": "选中的测试数字（{label}）", "en": "The picked test digit ({label})"},
    "ae.map_hint": {"zh": "点击图中的一个点，查看该数字及其重建。", "en": "Click a point to see that digit and its reconstruction."},
    "ae.edit": {"zh": "编辑编码", "en": "Edit the code"},
    "ae.edit_help": {"zh": "普通自编码器编码中变化最大的维度；拖动时解码结果随之变化。", "en": "The most varying dimensions of the plain autoencoder's code; the decoded image changes as you drag."},
    "ae.code_dim": {"zh": "编码维度 {i}", "en": "Code dimension {i}"},
    "ae.decoded": {"zh": "解码结果", "en": "Decoded"},
    "ae.sweep": {"zh": "噪声扫描：测试集 PSNR 与高斯噪声强度", "en": "Noise sweep: test-set PSNR against the Gaussian factor"},
    "ae.sweep_help": {"zh": "曲线来自评估脚本在测试集上的结果；× 为当前输入。", "en": "Curves from the evaluation on the test set; × marks the current input."},
    "ae.sigma": {"zh": "高斯噪声系数", "en": "Gaussian noise factor"},
    "ae.ae_plain": {"zh": "普通自编码器", "en": "Plain"},
    "ae.ae_deep": {"zh": "多层自编码器", "en": "Deep"},
    "ae.ae_conv": {"zh": "卷积自编码器", "en": "Convolutional"},
    "ae.ae_denoise": {"zh": "降噪自编码器", "en": "Denoising"},
    "ae.notes_title": {"zh": "课程笔记：自动编码器", "en": "Course notes: autoencoders"},
    "ae.notes": {
        "zh": "自动编码器是一种数据压缩算法：**编码器**把输入压缩成编码，**解码器**从编码重建输入，损失函数衡量压缩丢失的信息。"
        "类别：普通（全连接）、多层（深度）、卷积、正则化（降噪）自编码器。降噪自编码器在训练时给输入加上正态分布噪声，学会把带噪数据还原成原始数据。",
        "en": "An autoencoder is a data compression algorithm: an **encoder** compresses the input into a code, a **decoder** rebuilds the input from the code, and a loss measures what the compression lost. "
        "Kinds: plain (fully connected), deep (stacked), convolutional, and regularized (denoising). A denoising autoencoder is trained on inputs with Gaussian noise added and learns to restore the clean data.",
    },
    # --- capsule lab
    "caps.title": {"zh": "胶囊网络查看器", "en": "Capsule viewer"},
    "caps.rotation": {"zh": "旋转角度（度）", "en": "Rotation (degrees)"},
    "caps.shift_x": {"zh": "水平平移（像素）", "en": "Shift x (pixels)"},
    "caps.shift_y": {"zh": "垂直平移（像素）", "en": "Shift y (pixels)"},
    "caps.scale": {"zh": "缩放", "en": "Scale"},
    "caps.lengths": {"zh": "胶囊长度与 CNN 概率", "en": "Capsule lengths and CNN probabilities"},
    "caps.length_series": {"zh": "数字胶囊长度", "en": "Digit capsule length"},
    "caps.cnn_series": {"zh": "CNN 概率", "en": "CNN probability"},
    "caps.pred_label": {"zh": "胶囊网络的判断（胶囊长度）", "en": "CapsNet reads (capsule length)"},
    "caps.cnn_label": {"zh": "CNN 的判断（置信度）", "en": "CNN reads (confidence)"},
    "caps.which": {"zh": "扰动哪个类别的胶囊", "en": "Capsule to perturb (class)"},
    "caps.range": {"zh": "扰动范围 ±", "en": "Perturbation range ±"},
    "caps.heatmap": {"zh": "全部 10×16 胶囊数值", "en": "All 10 × 16 capsule values"},
    "caps.dimension": {"zh": "维度", "en": "Dimension"},
    "caps.fig4": {"zh": "论文图 4：逐维扰动", "en": "The paper's Figure 4: one dimension at a time"},
    "caps.fig4_caption": {"zh": "每行一个维度，每列扰动 −0.25 到 0.25（步长 0.05）", "en": "One row per dimension; columns perturb it from −0.25 to 0.25 in steps of 0.05"},
    "caps.fig4_download": {"zh": "下载图 4（PNG）", "en": "Download Figure 4 (PNG)"},
    "caps.routing": {"zh": "动态路由：耦合系数", "en": "Dynamic routing: coupling coefficients"},
    "caps.iteration": {"zh": "第 {r} 次迭代", "en": "Iteration {r}"},
    "caps.share": {"zh": "流向类别 {c} 的平均份额", "en": "Mean share routed to class {c}"},
    "caps.recon": {"zh": "由胶囊重建", "en": "Reconstructed from the capsule"},
    "caps.dim": {"zh": "维度 {i}", "en": "Dim {i}"},
    "caps.robustness": {"zh": "测试集旋转后的准确率（虚线：当前旋转角度）", "en": "Test accuracy under rotation (dotted: the current rotation)"},
    "caps.test_accuracy": {"zh": "测试准确率", "en": "Test accuracy"},
    "caps.model_capsnet": {"zh": "胶囊网络", "en": "CapsNet"},
    "caps.model_cnn": {"zh": "CNN 基线", "en": "CNN baseline"},
    "caps.perturb": {"zh": "扰动所选胶囊的 16 个维度", "en": "Perturb the 16 dimensions of the selected capsule"},
    "caps.reset": {"zh": "复位", "en": "Reset"},
    "caps.notes_title": {"zh": "课程笔记：为什么需要胶囊", "en": "Course notes: why capsules"},
    "caps.notes": {
        "zh": "CNN 对旋转的图片不确定，也难以把握图片整体的结构关系。**胶囊**是一组神经元，其输出向量表示特定实体的实例化参数：向量长度表示实体出现的概率，方向表示它的属性。"
        "数字胶囊层输出 10×16：10 个类别，每类 16 个属性。",
        "en": "CNNs are unsure about rotated images and about how the parts of an image relate. A **capsule** is a group of neurons whose output vector holds the instantiation parameters of an entity: its length is the probability that the entity is present, its direction the entity's properties. "
        "The digit capsule layer outputs 10 × 16: 16 properties for each of the 10 classes.",
    },
    "common.prob": {"zh": "概率", "en": "Probability"},
    "common.class": {"zh": "类别", "en": "Class"},
    "common.loss": {"zh": "损失", "en": "Loss"},
}


def lang() -> str:
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, **fmt) -> str:
    """The string ``key`` in the current language, formatted with ``fmt``."""
    entry = STRINGS[key]
    text = entry[lang()]
    return text.format(**fmt) if fmt else text
